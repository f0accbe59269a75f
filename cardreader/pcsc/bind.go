package pcsc

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/ebfe/scard"

	"github.com/sithseid/sithseid/cardreader"
)

// State is what PC/SC says of the card a connection reaches: its ATR and
// the reader's event counter (Conn.Events).
type State struct {
	ATR      []byte
	Events   uint32
	EventsOK bool
}

// State is c's State; nil for a nil c (no PC/SC).
func (c *Conn) State() *State {
	if c == nil {
		return nil
	}
	return &State{ATR: c.ATR, Events: c.Events, EventsOK: c.EventsOK}
}

// ReaderEvents reads reader's event counter through a PC/SC context of
// its own: for a backend whose session does not keep its Conn. Called
// inside a transaction it tells whether a card was inserted or removed
// since a counter was recorded. No APDU.
//
// The context is kept for the next call (eventsCtx): establishing and
// releasing one is four requests to the PC/SC service and a new socket,
// which a PIN change paid twice between its two sessions (the prefetched
// ID's and tries' freshness checks) for a request of its own that costs
// one. A kept context that fails (the service restarted) is released and
// a new one asked once; the counter is read fresh on every call.
func ReaderEvents(reader string) (uint32, bool) {
	eventsCtx.mu.Lock()
	defer eventsCtx.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if eventsCtx.sc == nil {
			sc, err := scard.EstablishContext()
			if err != nil {
				return 0, false
			}
			eventsCtx.sc = sc
		}
		if n, ok := readerEvents(eventsCtx.sc, reader); ok {
			return n, true
		}
		// The reader may be gone, or the context stale: a new context
		// tells which.
		_ = eventsCtx.sc.Release()
		eventsCtx.sc = nil
	}
	return 0, false
}

// eventsCtx is ReaderEvents' PC/SC context, used by one call at a time.
var eventsCtx struct {
	mu sync.Mutex
	sc *scard.Context
}

// readerEvents reads reader's event counter without waiting: one request
// to the PC/SC service, no APDU.
func readerEvents(sc *scard.Context, reader string) (uint32, bool) {
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	if err := sc.GetStatusChange(rs, 0); err != nil {
		return 0, false
	}
	return uint32(rs[0].EventState) >> 16, true
}

// Binding ties a backend's Card to the one physical card it was opened
// on, so that a PIN, a PUK or a key typed for that card never reaches
// another card put in the same reader in the meantime (docs/protocol.md
// §8, "The PIN goes to the card the user saw").
//
// A Card records what PC/SC says of its card when it is opened (Record:
// the ATR and the reader's event counter, which counts insertions and
// removals) and the card's ID the first time it is read (SetID: the ID
// the identity the user sees was cached under). Before an APDU that
// presents a secret or spends a try, Check compares the connection's
// counter and ATR with the recorded ones, inside the same transaction: in
// the normal case that costs no APDU. When they differ, Check reads the
// card's ID in that transaction and lets the operation go on only if it
// is the recorded ID (the same card, pulled and put back), else
// cardreader.ErrCardChanged.
//
// Safe for concurrent use; the zero value records nothing yet.
type Binding struct {
	mu       sync.Mutex
	recorded bool // atr and events were recorded
	atr      []byte
	events   uint32
	eventsOK bool
	id       string
}

// Record notes the card c is connected to (Conn.State), once: later calls
// (and a nil c, a scripted session in unit tests) change nothing.
func (b *Binding) Record(c *State) {
	if c == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.recorded {
		b.set(c)
	}
}

func (b *Binding) set(c *State) {
	b.recorded = true
	b.atr = bytes.Clone(c.ATR)
	b.events, b.eventsOK = c.Events, c.EventsOK
}

// same reports whether c shows the recorded card with no insertion or
// removal in between. b.mu is held.
func (b *Binding) same(c *State) bool {
	return b.recorded && b.eventsOK && c.EventsOK && c.Events == b.events && bytes.Equal(c.ATR, b.atr)
}

// SetID records id, the card's ID read in c's transaction, the first time
// an ID is read: from then on the Card is that card, and c's counter and
// ATR are the ones Check compares with. A later read of the same ID in a
// transaction that shows another counter (the card was put back) moves
// the recorded counter along, so that the next Check costs no APDU again.
func (b *Binding) SetID(c *State, id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.id == "":
		b.id = id
		if c != nil {
			b.set(c)
		}
	case b.id == id && c != nil:
		b.set(c)
	}
}

// ID is the recorded card ID, "" before SetID.
func (b *Binding) ID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.id
}

// Check returns nil when c is connected to the card b is bound to. It is
// called inside c's transaction before any APDU that presents a PIN, a
// PUK or a key. When PC/SC shows an insertion or removal since the card
// was recorded (or another ATR), readID reads the card's ID in the same
// transaction: the recorded ID lets the operation go on (and Check is
// cheap again), any other ID returns an error wrapping
// cardreader.ErrCardChanged, as does a Card whose ID was never read,
// which cannot tell. A nil c (no PC/SC: scripted sessions in unit tests)
// or a Binding that recorded nothing passes.
func (b *Binding) Check(c *State, readID func() (string, error)) error {
	if c == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.recorded && b.id == "" {
		return nil
	}
	if b.same(c) {
		return nil
	}
	if b.id == "" {
		return fmt.Errorf("the card in the reader changed and its ID was never read: %w", cardreader.ErrCardChanged)
	}
	id, err := readID()
	if err != nil {
		return fmt.Errorf("reading the card's ID: %w", err)
	}
	if id != b.id {
		return fmt.Errorf("card %s is in the reader instead of %s: %w", id, b.id, cardreader.ErrCardChanged)
	}
	b.set(c)
	return nil
}
