package idprime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// What Open read in its session (the card ID and the tries) answers ID and
// Tries once, at no APDU; after that, and after the card was pulled and
// put back, they ask the card again. A card seen to have no signature PIN
// is not asked for it again.
func TestPrefetchAnswersOnceAndOnlyForTheSameInsertion(t *testing.T) {
	vc, c := insert(t, false)
	ctx := context.Background()
	n := apdus(vc)
	id, err := c.ID(ctx)
	if err != nil || id == "" {
		t.Fatalf("ID: %q %v", id, err)
	}
	tr, err := c.Tries(ctx)
	if err != nil || tr.PIN.Retries != 3 || tr.PUK.Retries != 3 || !errors.Is(tr.SignaturePINErr, cardreader.ErrNoSignaturePIN) {
		t.Fatalf("Tries: %+v %v", tr, err)
	}
	if d := apdus(vc) - n; d != 0 {
		t.Fatalf("ID and Tries right after Open: %d APDUs, want none", d)
	}
	n = apdus(vc)
	if _, err := c.ID(ctx); err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d != 2 {
		t.Fatalf("a second ID: %d APDUs, want 2 (SELECT applet, GET DATA CPLC)", d)
	}
	n = apdus(vc)
	if _, err := c.Tries(ctx); err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d != 3 {
		t.Fatalf("a second Tries: %d APDUs, want 3 (SELECT, PIN and PUK: no signature PIN on this card)", d)
	}

	// Opened, then pulled and put back: the reader's event counter moved,
	// so nothing read before answers.
	c2, err := New(Options{}).Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatal(err)
	}
	vc.Pull(t)
	vc.Reinsert(t)
	n = apdus(vc)
	if _, err := c2.(*Card).Tries(ctx); err != nil {
		t.Fatalf("Tries after re-insertion: %v", err)
	}
	if d := apdus(vc) - n; d == 0 {
		t.Fatal("Tries after the card was pulled and put back answered from before: want a read of the card")
	}
}

// With the identity cache the application keeps (Options.Cache), a card
// whose identity is not cached has its certificates read in the session
// that opened it: the status that follows (ID, identity through the
// cache, tries) sends nothing more, so a cold insertion costs one SELECT
// of the applet, not two. Put back, the card's identity is cached: Open
// reads the ID and the PIN's and PUK's tries, four APDUs, and nothing
// follows.
func TestOpenReadsCertificatesOnlyForAnUncachedCard(t *testing.T) {
	vc, c := insert(t, false)
	ctx := context.Background()
	n := apdus(vc)
	if _, err := c.Certificates(ctx); err != nil {
		t.Fatal(err)
	}
	certs := apdus(vc) - n // SELECT applet, the index, the certificate files

	cache := cardreader.NewIdentityCache(0)
	b := New(Options{Cache: cache})
	status := func(what string) (open, after int64) {
		t.Helper()
		n := apdus(vc)
		card, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
		if err != nil {
			t.Fatalf("%s: Open: %v", what, err)
		}
		open = apdus(vc) - n
		n = apdus(vc)
		if id, err := cache.Identity(ctx, card, time.Now()); err != nil || id.HSAID == "" {
			t.Fatalf("%s: identity %+v, %v", what, id, err)
		}
		if tr, err := card.(*Card).Tries(ctx); err != nil || tr.PIN.Retries != 3 || tr.PUK.Retries != 3 {
			t.Fatalf("%s: tries %+v, %v", what, tr, err)
		}
		return open, apdus(vc) - n
	}
	open, after := status("cold")
	// SELECT, GET DATA CPLC, the PIN's, PUK's and signature PIN's tries,
	// then the certificates without a second SELECT of the applet.
	if want := 5 + certs - 1; open != want || after != 0 {
		t.Errorf("cold: Open %d APDUs and %d after it, want %d and 0 (the certificates alone are %d with their SELECT)", open, after, want, certs)
	}
	vc.Pull(t)
	vc.Reinsert(t)
	open, after = status("re-inserted")
	if open != 4 || after != 0 {
		t.Errorf("re-inserted: Open %d APDUs and %d after it, want 4 (SELECT, CPLC, PIN and PUK tries) and 0", open, after)
	}
	t.Logf("certificates alone %d APDUs; cold %d; re-inserted %d", certs, 5+certs-1, open)
}
