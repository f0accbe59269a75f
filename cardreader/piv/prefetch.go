package piv

import (
	"context"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// prefetchLife bounds how long what the opening session read may answer
// ID and Tries: long enough for the status that follows an insertion
// (certificates included, on a slow card), short enough that nothing
// later takes it for the card's state now.
const prefetchLife = 10 * time.Second

// prefetched is what Open read in its session besides SELECT and GET
// VERSION: the card's ID and its tries. Each part answers once (ID, then
// Tries), within prefetchLife; after that the card is asked again.
type prefetched struct {
	at      time.Time
	events  uint32 // the reader's event counter in the opening session
	id      string
	tries   *cardreader.Tries
	idTaken bool
}

// readTries reads the PIN's tries (GET METADATA, else an empty VERIFY)
// and the PUK's (GET METADATA; -1 when the card cannot tell) in s. PIV
// has no signature PIN. An error is returned only when the card stopped
// answering; a refusal is kept in Tries.
func readTries(s *session) (cardreader.Tries, error) {
	t := cardreader.Tries{SignaturePINErr: cardreader.ErrNoSignaturePIN}
	n, err := s.pinRetries()
	if err != nil && sw(err) == 0 {
		return t, err
	}
	t.PIN = cardreader.PINStatus{Retries: n, Blocked: n == 0}
	if err != nil {
		t.PINErr = fmt.Errorf("reading PIN tries: %w", err)
	}
	n, _, err = s.retries(refPUK)
	if err != nil && sw(err) == 0 {
		return t, err
	}
	t.PUK = cardreader.PINStatus{Retries: n, Blocked: n == 0}
	if err != nil {
		t.PUKErr = fmt.Errorf("reading PUK tries: %w", err)
	}
	return t, nil
}

// prefetch keeps id and reads the tries in the session that opened the
// card. A card that stops answering is an error of Open.
func (c *Card) prefetch(s *session, id string) error {
	st := s.conn.State()
	if st == nil || !st.EventsOK {
		return nil // PC/SC cannot tell a change: no prefetch
	}
	t, err := readTries(s)
	if err != nil {
		return err
	}
	c.pre.Store(&prefetched{at: time.Now(), events: st.Events, id: id, tries: &t})
	return nil
}

// fresh reports whether p may still answer: within prefetchLife and with
// no card inserted or removed in the reader since (its event counter, one
// request to PC/SC, no APDU; PC/SC unreachable is not fresh).
func (c *Card) fresh(p *prefetched) bool {
	if p == nil || time.Since(p.at) > prefetchLife {
		return false
	}
	n, ok := pcsc.ReaderEvents(c.reader)
	return ok && n == p.events
}

// takeID returns the ID the opening session read, once, while fresh.
func (c *Card) takeID() (string, bool) {
	p := c.pre.Load()
	if p == nil || p.id == "" || p.idTaken || !c.fresh(p) {
		return "", false
	}
	q := *p
	q.idTaken = true
	if !c.pre.CompareAndSwap(p, &q) {
		return "", false
	}
	return p.id, true
}

// takeTries returns the tries the opening session read, once, while fresh.
func (c *Card) takeTries() (cardreader.Tries, bool) {
	p := c.pre.Load()
	if p == nil || p.tries == nil || !c.fresh(p) {
		return cardreader.Tries{}, false
	}
	q := *p
	q.tries = nil
	if !c.pre.CompareAndSwap(p, &q) {
		return cardreader.Tries{}, false
	}
	return *p.tries, true
}

// Tries reads the PIN's and the PUK's tries in one session (SELECT and a
// GET METADATA each: three APDUs), or answers what the session that
// opened this Card read, once and within a few seconds (no APDU). Nothing
// is spent.
func (c *Card) Tries(ctx context.Context) (cardreader.Tries, error) {
	if t, ok := c.takeTries(); ok {
		return t, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return cardreader.Tries{}, err
	}
	defer s.close(false)
	t, err := readTries(s)
	if err != nil {
		return t, c.mapSessionErr(err)
	}
	return t, nil
}

var _ cardreader.TriesReader = (*Card)(nil)
