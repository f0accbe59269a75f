package piv

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
// put back, they ask the card again. A card the backend claimed before is
// not asked for its version again.
func TestPrefetchAnswersOnceAndOnlyForTheSameInsertion(t *testing.T) {
	vc, _ := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	ctx := context.Background()
	b := New(Options{})
	n := apdus(vc)
	c, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d != 5 {
		t.Fatalf("Open: %d APDUs, want 5 (SELECT, CHUID, GET VERSION, PIN and PUK metadata)", d)
	}
	n = apdus(vc)
	if _, err := c.ID(ctx); err != nil {
		t.Fatal(err)
	}
	tr, err := c.(*Card).Tries(ctx)
	if err != nil || tr.PIN.Retries != 3 || tr.PUK.Retries != 3 {
		t.Fatalf("Tries: %+v %v", tr, err)
	}
	if d := apdus(vc) - n; d != 0 {
		t.Fatalf("ID and Tries right after Open: %d APDUs, want none", d)
	}
	n = apdus(vc)
	if _, err := c.(*Card).Tries(ctx); err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d == 0 {
		t.Fatal("a second Tries answered from the opening session: want a read of the card")
	}

	// The same card again, the same insertion: no GET VERSION, and no
	// CHUID either (issue 17: its ID was read in this reader, no card
	// inserted or removed since).
	n = apdus(vc)
	c2, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d != 3 {
		t.Fatalf("Open of the card whose ID was read last, same insertion: %d APDUs, want 3 (SELECT, PIN and PUK metadata)", d)
	}
	if id, err := c2.ID(ctx); err != nil || id == "" {
		t.Fatalf("ID of the card opened without reading it: %q %v", id, err)
	}
	vc.Pull(t)
	vc.Reinsert(t)
	n = apdus(vc)
	if _, err := c2.ID(ctx); err != nil {
		t.Fatalf("ID after re-insertion: %v", err)
	}
	if d := apdus(vc) - n; d == 0 {
		t.Fatal("ID after the card was pulled and put back answered from before: want a read of the card")
	}
	// Opened again after the re-insertion: the CHUID is read again (the
	// reader's event counter moved), GET VERSION is not (claimed before).
	n = apdus(vc)
	if _, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true}); err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d != 4 {
		t.Fatalf("Open after re-insertion: %d APDUs, want 4 (SELECT, CHUID, PIN and PUK metadata)", d)
	}
}

// With the identity cache the application keeps (Options.Cache), a card
// whose identity is not cached has its certificates read in the session
// that opened it: the status that follows (ID, identity through the
// cache, tries) sends nothing more, so a cold insertion costs one SELECT,
// not two. Put back, the card's identity is cached: Open reads the CHUID
// and the PIN's and PUK's tries, four APDUs, and nothing follows.
func TestOpenReadsCertificatesOnlyForAnUncachedCard(t *testing.T) {
	vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	ctx := context.Background()
	n := apdus(vc)
	if _, err := c.Certificates(ctx); err != nil {
		t.Fatal(err)
	}
	certs := apdus(vc) - n // SELECT, the key history, the slots

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
	vc.Pull(t)
	vc.Reinsert(t)
	open, after := status("cold")
	// SELECT, CHUID, GET VERSION, the PIN's and PUK's metadata, then the
	// certificates without a second SELECT.
	if want := 5 + certs - 1; open != want || after != 0 {
		t.Errorf("cold: Open %d APDUs and %d after it, want %d and 0 (the certificates alone are %d with their SELECT)", open, after, want, certs)
	}
	vc.Pull(t)
	vc.Reinsert(t)
	open, after = status("re-inserted")
	if open != 4 || after != 0 {
		t.Errorf("re-inserted: Open %d APDUs and %d after it, want 4 (SELECT, CHUID, PIN and PUK metadata) and 0", open, after)
	}
	t.Logf("certificates alone %d APDUs; cold %d; re-inserted %d", certs, 5+certs-1, open)
}

// An Open for a caller that wants some counts only
// (cardreader.WithTriesOf: a PIN unblock shows the PUK's tries) reads
// those only in its session, one APDU fewer; Tries for such a caller
// answers them at no APDU and marks the others not read, and a caller
// that wants every count (a status) is never answered with them: it reads
// the card.
func TestPrefetchReadsTheTriesAsked(t *testing.T) {
	vc, _ := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	b := New(Options{})
	if _, err := b.Open(context.Background(), cardreader.Reader{Name: vc.Reader, CardPresent: true}); err != nil {
		t.Fatal(err) // claimed, its ID read: the next Open reads neither
	}
	for _, tc := range []struct {
		which cardreader.TriesOf
		pin   bool
	}{{cardreader.TriesOfPUK, false}, {cardreader.TriesOfPIN, true}} {
		ctx := cardreader.WithTriesOf(context.Background(), tc.which)
		n := apdus(vc)
		c, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := apdus(vc) - n; d != 2 {
			t.Fatalf("Open for the tries %b: %d APDUs, want 2 (SELECT and those tries)", tc.which, d)
		}
		n = apdus(vc)
		tr, err := c.(*Card).Tries(context.Background())
		if err != nil || tr.Read() != cardreader.AllTries || tr.PIN.Retries != 3 || tr.PUK.Retries != 3 {
			t.Fatalf("Tries for every count after a partial Open: %+v, %v", tr, err)
		}
		if d := apdus(vc) - n; d != 3 {
			t.Fatalf("Tries for every count after a partial Open: %d APDUs, want 3 (a read of the card)", d)
		}

		c, err = b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
		if err != nil {
			t.Fatal(err)
		}
		n = apdus(vc)
		tr, err = c.(*Card).Tries(ctx)
		if err != nil || tr.Read() != tc.which|cardreader.TriesOfSignaturePIN {
			t.Fatalf("Tries %b: %+v, %v", tc.which, tr, err)
		}
		if d := apdus(vc) - n; d != 0 {
			t.Fatalf("Tries %b right after such an Open: %d APDUs, want none", tc.which, d)
		}
		got, gotErr, unread := tr.PUK, tr.PUKErr, tr.PINErr
		if tc.pin {
			got, gotErr, unread = tr.PIN, tr.PINErr, tr.PUKErr
		}
		if gotErr != nil || got.Retries != 3 || !errors.Is(unread, cardreader.ErrTriesNotRead) {
			t.Fatalf("Tries %b: %+v", tc.which, tr)
		}
		// Not answered from the opening session (taken): read, those only.
		n = apdus(vc)
		if tr, err = c.(*Card).Tries(ctx); err != nil || tr.Read() != tc.which|cardreader.TriesOfSignaturePIN {
			t.Fatalf("Tries %b again: %+v, %v", tc.which, tr, err)
		}
		if d := apdus(vc) - n; d != 2 {
			t.Fatalf("Tries %b again: %d APDUs, want 2 (SELECT and those tries)", tc.which, d)
		}
	}
}
