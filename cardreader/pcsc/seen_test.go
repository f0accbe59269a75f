package pcsc

import "testing"

// A card's ID is known again only while the reader shows the same ATR and
// the same event count as when it was remembered.
func TestSeenCards(t *testing.T) {
	atr := []byte{0x3b, 0x7f, 0x96}
	st := &State{ATR: atr, Events: 4, EventsOK: true}
	var s SeenCards
	if _, ok := s.Known("r", st); ok {
		t.Fatal("known before anything was remembered")
	}
	s.Remember("r", st, "cardid:01")
	atr[0] = 0 // the caller's slice may change: Remember keeps its own copy
	st.ATR = []byte{0x3b, 0x7f, 0x96}
	if id, ok := s.Known("r", st); !ok || id != "cardid:01" {
		t.Fatalf("Known = %q, %v; want cardid:01", id, ok)
	}
	for name, other := range map[string]*State{
		"a card event since": {ATR: st.ATR, Events: 6, EventsOK: true},
		"another ATR":        {ATR: []byte{0x3b, 0x00}, Events: 4, EventsOK: true},
		"no event count":     {ATR: st.ATR, Events: 4},
		"no ATR":             {Events: 4, EventsOK: true},
		"no state":           nil,
	} {
		if _, ok := s.Known("r", other); ok {
			t.Errorf("%s: still known", name)
		}
	}
	if _, ok := s.Known("another reader", st); ok {
		t.Error("known in another reader")
	}
	s.Remember("r", &State{ATR: st.ATR, Events: 5}, "cardid:02") // no event count: not kept
	if id, _ := s.Known("r", st); id != "cardid:01" {
		t.Errorf("a state without an event count replaced the record: %q", id)
	}
	var none *SeenCards
	none.Remember("r", st, "x")
	if _, ok := none.Known("r", st); ok {
		t.Error("a nil SeenCards knows a card")
	}
}
