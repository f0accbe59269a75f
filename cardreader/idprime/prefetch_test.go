package idprime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
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

// An Open for a caller that wants some counts only
// (cardreader.WithTriesOf) reads those only in its session; Tries for
// such a caller answers them at no APDU, the others marked not read, and
// a caller that wants every count is never answered with them. A session
// that opened the card and read its signature PIN's tries spares the
// signature PIN's unblock asking for them again before the PUK goes.
func TestPrefetchReadsTheTriesAsked(t *testing.T) {
	vc, _ := insert(t, true)
	b := New(Options{})
	open := func(ctx context.Context) *Card {
		t.Helper()
		c, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
		if err != nil {
			t.Fatal(err)
		}
		return c.(*Card)
	}
	open(context.Background()) // its ID read: the next Open does not read it
	for _, which := range []cardreader.TriesOf{cardreader.TriesOfPIN, cardreader.TriesOfPUK, cardreader.TriesOfSignaturePIN, cardreader.TriesOfPUK | cardreader.TriesOfSignaturePIN} {
		ctx := cardreader.WithTriesOf(context.Background(), which)
		n := apdus(vc)
		c := open(ctx)
		want := int64(1)
		for w := which; w != 0; w &= w - 1 {
			want++
		}
		if d := apdus(vc) - n; d != want {
			t.Fatalf("Open for the tries %b: %d APDUs, want %d (SELECT and those tries)", which, d, want)
		}
		n = apdus(vc)
		tr, err := c.Tries(ctx)
		if err != nil || tr.Read() != which {
			t.Fatalf("Tries %b: %+v, %v", which, tr, err)
		}
		if d := apdus(vc) - n; d != 0 {
			t.Fatalf("Tries %b right after such an Open: %d APDUs, want none", which, d)
		}
		for _, cnt := range []struct {
			of  cardreader.TriesOf
			st  cardreader.PINStatus
			err error
		}{{cardreader.TriesOfPIN, tr.PIN, tr.PINErr}, {cardreader.TriesOfSignaturePIN, tr.SignaturePIN, tr.SignaturePINErr}, {cardreader.TriesOfPUK, tr.PUK, tr.PUKErr}} {
			if which&cnt.of != 0 && (cnt.err != nil || cnt.st.Retries != 3) {
				t.Errorf("Tries %b: count %b %+v, %v; want 3", which, cnt.of, cnt.st, cnt.err)
			}
			if which&cnt.of == 0 && !errors.Is(cnt.err, cardreader.ErrTriesNotRead) {
				t.Errorf("Tries %b: count %b %+v, %v; want not read", which, cnt.of, cnt.st, cnt.err)
			}
		}
		c = open(ctx)
		n = apdus(vc)
		if tr, err := c.Tries(context.Background()); err != nil || tr.Read() != cardreader.AllTries {
			t.Fatalf("Tries for every count after a partial Open: %+v, %v", tr, err)
		}
		if d := apdus(vc) - n; d != 4 {
			t.Fatalf("Tries for every count after a partial Open: %d APDUs, want 4 (a read of the card)", d)
		}
	}

	// The signature PIN's unblock: SELECT and RESET RETRY after an Open
	// that read its tries; SELECT, its tries and RESET RETRY otherwise.
	for _, tc := range []struct {
		which cardreader.TriesOf
		want  int64
	}{{cardreader.TriesOfPUK | cardreader.TriesOfSignaturePIN, 2}, {cardreader.TriesOfPUK, 3}} {
		c := open(cardreader.WithTriesOf(context.Background(), tc.which))
		n := apdus(vc)
		if err := c.UnblockSignaturePIN(context.Background(), secret(vcard.DefaultPUK), secret("86420975")); err != nil {
			t.Fatal(err)
		}
		if d := apdus(vc) - n; d != tc.want {
			t.Errorf("signature PIN unblock after an Open that read the tries %b: %d APDUs, want %d", tc.which, d, tc.want)
		}
	}
}
