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
