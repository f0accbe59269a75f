package pcsc

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// PrefetchLife bounds how long what a card's opening session read may
// answer: long enough for the status that follows an insertion
// (certificates included, on a slow card), short enough that nothing later
// takes it for the card's state now.
const PrefetchLife = 10 * time.Second

// Prefetch is what the session that opened a card read besides selecting
// it: the card's ID and its tries, and the certificates of a card whose
// identity is not cached, so that the status that follows an insertion
// costs no second session. Each part answers once (the ID, the
// certificates, the tries), within PrefetchLife and only while the reader's event counter
// is the one of the opening session (no card inserted or removed since);
// after that the card is asked again. The zero value holds nothing; it is
// safe for concurrent use.
type Prefetch struct {
	p atomic.Pointer[prefetched]
}

type prefetched struct {
	at      time.Time
	events  uint32
	id      string // "" when not read
	tries   *cardreader.Tries
	certs   *[]cardreader.Certificate
	idTaken bool
}

// Store keeps what the opening session read while the reader's event
// counter was events; id may be "" and tries nil when not read.
func (f *Prefetch) Store(events uint32, id string, tries *cardreader.Tries) {
	f.StoreWithCertificates(events, id, tries, nil)
}

// StoreWithCertificates is Store with the card's certificates, read in
// the same session; certs nil when not read (a read that found none is a
// pointer to an empty slice).
func (f *Prefetch) StoreWithCertificates(events uint32, id string, tries *cardreader.Tries, certs *[]cardreader.Certificate) {
	f.p.Store(&prefetched{at: time.Now(), events: events, id: id, tries: tries, certs: certs})
}

// fresh reports whether p may still answer in reader: within PrefetchLife
// and with the reader's event counter unchanged (one request to PC/SC, no
// APDU). events reads the counter (ReaderEvents); nil, or PC/SC
// unreachable, is not fresh.
func (p *prefetched) fresh(reader string, events func(string) (uint32, bool)) bool {
	if p == nil || time.Since(p.at) > PrefetchLife || events == nil {
		return false
	}
	n, ok := events(reader)
	return ok && n == p.events
}

// TakeID returns the ID the opening session read, once, while fresh.
func (f *Prefetch) TakeID(reader string, events func(string) (uint32, bool)) (string, bool) {
	p := f.p.Load()
	if p == nil || p.id == "" || p.idTaken || !p.fresh(reader, events) {
		return "", false
	}
	q := *p
	q.idTaken = true
	if !f.p.CompareAndSwap(p, &q) {
		return "", false
	}
	return p.id, true
}

// TakeTries returns the tries the opening session read, once, while
// fresh and only when it read every count (a partial read, see
// cardreader.WithTriesOf, answers TakeTriesOf); the ID stays answered.
func (f *Prefetch) TakeTries(reader string, events func(string) (uint32, bool)) (cardreader.Tries, bool) {
	return f.TakeTriesOf(reader, events, cardreader.AllTries)
}

// TakeTriesOf returns the tries the opening session read, once, while
// fresh and only when that session read every count in which (it may hold
// more: cardreader.Tries.Read says which); the ID stays answered. Tries
// that do not hold them stay for a caller that wants fewer.
func (f *Prefetch) TakeTriesOf(reader string, events func(string) (uint32, bool), which cardreader.TriesOf) (cardreader.Tries, bool) {
	p := f.p.Load()
	if p == nil || p.tries == nil || p.tries.Read()&which != which || !p.fresh(reader, events) {
		return cardreader.Tries{}, false
	}
	q := *p
	q.tries = nil
	if !f.p.CompareAndSwap(p, &q) {
		return cardreader.Tries{}, false
	}
	return *p.tries, true
}

// TakeCertificates returns the certificates the opening session read,
// once, while fresh; the ID and the tries stay answered.
func (f *Prefetch) TakeCertificates(reader string, events func(string) (uint32, bool)) ([]cardreader.Certificate, bool) {
	p := f.p.Load()
	if p == nil || p.certs == nil || !p.fresh(reader, events) {
		return nil, false
	}
	q := *p
	q.certs = nil
	if !f.p.CompareAndSwap(p, &q) {
		return nil, false
	}
	return *p.certs, true
}

// TakeCertificatesOf is TakeCertificates for the card whose ID is id: the
// certificates the opening session read answer only when that session
// read id (the same card, the same insertion: fresh).
func (f *Prefetch) TakeCertificatesOf(reader string, events func(string) (uint32, bool), id string) ([]cardreader.Certificate, bool) {
	p := f.p.Load()
	if p == nil || id == "" || p.id != id {
		return nil, false
	}
	return f.TakeCertificates(reader, events)
}

// CheckID returns nil when st, the state of a connection inside its
// transaction, reaches the card whose ID is id, and an error wrapping
// cardreader.ErrCardChanged when another card is there: for a read that
// must belong to the ID a caller read in an earlier session (the identity
// cache keeps certificates under the card's ID). When b is bound to id
// this is b.Check: no APDU while no card was inserted or removed since;
// otherwise, or when the reader's counter moved, readID reads the card's
// ID in the same transaction. A nil st (no PC/SC: scripted sessions in
// unit tests) passes.
func CheckID(b *Binding, st *State, id string, readID func() (string, error)) error {
	if st == nil {
		return nil
	}
	if b != nil && b.ID() == id && id != "" {
		return b.Check(st, readID)
	}
	got, err := readID()
	if err != nil {
		return fmt.Errorf("reading the card's ID: %w", err)
	}
	if got != id {
		return fmt.Errorf("card %s is in the reader instead of %s: %w", got, id, cardreader.ErrCardChanged)
	}
	return nil
}
