package idprime

import (
	"context"
	"errors"
	"testing"

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
