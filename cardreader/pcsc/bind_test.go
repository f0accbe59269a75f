package pcsc

import (
	"errors"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
)

// The binding's decisions without PC/SC: the same counter and ATR pass
// without reading the ID; a changed counter reads it and passes only for
// the recorded card (and is cheap again afterwards); a card whose ID was
// never read cannot be told apart and is refused.
func TestBindingCheck(t *testing.T) {
	atr := []byte{0x3B, 0x01}
	at := func(events uint32) *State { return &State{ATR: atr, Events: events, EventsOK: true} }
	reads := 0
	id := func(s string) func() (string, error) {
		return func() (string, error) { reads++; return s, nil }
	}

	var b Binding
	b.Record(at(4))
	b.SetID(at(4), "cardid:a")
	if err := b.Check(at(4), id("cardid:b")); err != nil || reads != 0 {
		t.Fatalf("unchanged reader: %v after %d ID reads", err, reads)
	}
	if err := b.Check(at(6), id("cardid:b")); !errors.Is(err, cardreader.ErrCardChanged) || reads != 1 {
		t.Fatalf("another card: %v after %d ID reads", err, reads)
	}
	if err := b.Check(&State{ATR: []byte{0x3B, 0x02}, Events: 4, EventsOK: true}, id("cardid:b")); !errors.Is(err, cardreader.ErrCardChanged) {
		t.Fatalf("another ATR: %v", err)
	}
	if err := b.Check(at(6), id("cardid:a")); err != nil {
		t.Fatalf("the same card put back: %v", err)
	}
	reads = 0
	if err := b.Check(at(6), id("cardid:b")); err != nil || reads != 0 {
		t.Fatalf("after the same card came back: %v after %d ID reads", err, reads)
	}
	if err := b.Check(&State{ATR: atr}, id("cardid:a")); err != nil || reads != 1 {
		t.Fatalf("no counter from PC/SC: %v after %d ID reads", err, reads)
	}

	var noID Binding
	noID.Record(at(1))
	if err := noID.Check(at(2), id("cardid:a")); !errors.Is(err, cardreader.ErrCardChanged) {
		t.Fatalf("a card whose ID was never read, after an insertion: %v", err)
	}
	if err := noID.Check(nil, id("cardid:b")); err != nil {
		t.Fatalf("no PC/SC: %v", err)
	}
}
