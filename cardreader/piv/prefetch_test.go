package piv

import (
	"context"
	"testing"

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

	// The same card again: no GET VERSION.
	n = apdus(vc)
	c2, err := b.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := apdus(vc) - n; d != 4 {
		t.Fatalf("Open of a card claimed before: %d APDUs, want 4", d)
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
}
