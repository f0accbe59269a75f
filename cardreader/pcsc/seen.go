package pcsc

import (
	"bytes"
	"sync"
)

// SeenCards remembers, per reader, the card whose ID was read last there:
// its ID with the ATR and the reader's event counter at the time (State).
// While both are unchanged no card was inserted or removed since, so the
// ID is still that card's (the rule of Binding), and a backend opening
// the card again need not read it (a PIN change's first session repeats
// nothing the agent read at insertion). The zero value is ready; a nil
// *SeenCards remembers nothing.
type SeenCards struct {
	m sync.Map // reader name → seenCard
}

type seenCard struct {
	atr    []byte
	events uint32
	id     string
}

// Known is the ID of the card in reader when st shows it is the card whose
// ID was remembered there.
func (s *SeenCards) Known(reader string, st *State) (string, bool) {
	if s == nil || st == nil || !st.EventsOK || len(st.ATR) == 0 {
		return "", false
	}
	v, ok := s.m.Load(reader)
	if !ok {
		return "", false
	}
	k := v.(seenCard)
	if k.events != st.Events || !bytes.Equal(k.atr, st.ATR) {
		return "", false
	}
	return k.id, true
}

// Remember keeps id as the card's in reader while st holds.
func (s *SeenCards) Remember(reader string, st *State, id string) {
	if s == nil || st == nil || !st.EventsOK || len(st.ATR) == 0 || id == "" {
		return
	}
	s.m.Store(reader, seenCard{atr: bytes.Clone(st.ATR), events: st.Events, id: id})
}
