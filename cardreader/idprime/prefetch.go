package idprime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// prefetchLife bounds how long what the opening session read may answer
// ID and Tries: long enough for the status that follows an insertion
// (certificates included, on a slow card), short enough that nothing
// later takes it for the card's state now.
const prefetchLife = 10 * time.Second

// prefetched is what Open read in its session besides the SELECT: the
// card's ID and its tries. Each part answers once (ID, then Tries), within
// prefetchLife; after that the card is asked again.
type prefetched struct {
	at      time.Time
	events  uint32 // the reader's event counter in the opening session
	id      string // "" when not read
	tries   *cardreader.Tries
	idTaken bool
}

// cardFacts are what a card ID says for good: a card personalised without
// a signature PIN never gets one. Kept per Backend, in memory.
type cardFacts struct {
	noSignaturePIN bool
}

// prefetch reads, in the session that opened the card, its ID and the
// tries of its PINs and PUK (the signature PIN's only when the card is not
// known to have none): what a status needs besides the certificates, in
// one SELECT. A card that refuses is left to the methods, which then ask
// it; a card that stops answering is an error of Open.
func (c *Card) prefetch(s *session) error {
	st := c.state(s)
	if c.facts == nil || st == nil || !st.EventsOK {
		return nil // unit tests, or PC/SC cannot tell a change: no prefetch
	}
	id, known := c.seen.Known(c.reader, st)
	if !known {
		var err error
		if id, err = s.cardID(); err != nil {
			return refusalOK(err)
		}
		c.seen.Remember(c.reader, st, id)
	}
	c.bind.SetID(st, id)
	p := &prefetched{at: time.Now(), events: st.Events, id: id}
	t, err := c.readTries(s, id)
	if err != nil {
		return err
	}
	p.tries = &t
	c.pre.Store(p)
	return nil
}

// refusalOK is nil for a status word (the card refused: its methods will
// say so) and err for anything else (the card left or stopped answering).
func refusalOK(err error) error {
	var se *swError
	if errors.As(err, &se) {
		return nil
	}
	return err
}

// fresh reports whether p may still answer: within prefetchLife and with
// no card inserted or removed in the reader since (its event counter, one
// request to PC/SC, no APDU; PC/SC unreachable is not fresh).
func (c *Card) fresh(p *prefetched) bool {
	if p == nil || time.Since(p.at) > prefetchLife || c.events == nil {
		return false
	}
	n, ok := c.events(c.reader)
	return ok && n == p.events
}

// readTries reads the tries of the PIN, the PUK and (unless the card is
// known to have none) the signature PIN in s. An error is returned only
// when the card stopped answering; a refusal is kept in Tries.
func (c *Card) readTries(s *session, id string) (cardreader.Tries, error) {
	var t cardreader.Tries
	t.PIN, t.PINErr = s.tries(refPIN)
	t.PINErr = noReference(t.PINErr, refPIN)
	t.PUK, t.PUKErr = s.tries(refPUK)
	t.PUKErr = noReference(t.PUKErr, refPUK)
	f := c.fact(id)
	if f.noSignaturePIN {
		t.SignaturePINErr = cardreader.ErrNoSignaturePIN
	} else {
		t.SignaturePIN, t.SignaturePINErr = s.tries(refSignaturePIN)
		t.SignaturePINErr = noReference(t.SignaturePINErr, refSignaturePIN)
		if errors.Is(t.SignaturePINErr, cardreader.ErrNoSignaturePIN) && id != "" {
			c.facts.Store(id, cardFacts{noSignaturePIN: true})
		}
	}
	for _, err := range []error{t.PINErr, t.PUKErr, t.SignaturePINErr} {
		if err != nil && !errors.Is(err, cardreader.ErrNoPUK) && !errors.Is(err, cardreader.ErrNoSignaturePIN) && refusalOK(err) != nil {
			return t, err // the card left or stopped answering (do maps it)
		}
	}
	if t.PINErr != nil {
		t.PINErr = fmt.Errorf("reading PIN tries: %w", t.PINErr)
	}
	if t.PUKErr != nil && !errors.Is(t.PUKErr, cardreader.ErrNoPUK) {
		t.PUKErr = fmt.Errorf("reading PUK tries: %w", t.PUKErr)
	}
	if t.SignaturePINErr != nil && !errors.Is(t.SignaturePINErr, cardreader.ErrNoSignaturePIN) {
		t.SignaturePINErr = fmt.Errorf("reading signature PIN tries: %w", t.SignaturePINErr)
	}
	return t, nil
}

func (c *Card) fact(id string) cardFacts {
	if c.facts == nil || id == "" {
		return cardFacts{}
	}
	v, _ := c.facts.Load(id)
	f, _ := v.(cardFacts)
	return f
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

// takeTries returns the tries the opening session read, once, while
// fresh; the ID stays answered.
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

// Tries reads the tries of the identification PIN, the PUK and the
// signature PIN in one session (SELECT and an empty VERIFY each: four
// APDUs, three on a card known to have no signature PIN), or answers what
// the session that opened this Card read, once and within a few seconds
// (no APDU). Nothing is spent.
func (c *Card) Tries(ctx context.Context) (cardreader.Tries, error) {
	if t, ok := c.takeTries(); ok {
		return t, nil
	}
	var t cardreader.Tries
	err := c.do(ctx, func(s *session) error {
		var err error
		t, err = c.readTries(s, c.bind.ID())
		return err
	})
	return t, err
}

var _ cardreader.TriesReader = (*Card)(nil)
