package idprime

import (
	"context"
	"errors"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
)

// cardFacts are what a card ID says for good: a card personalised without
// a signature PIN never gets one. Kept per Backend, in memory.
type cardFacts struct {
	noSignaturePIN bool
}

// prefetch reads, in the session that opened the card, its ID and the
// tries of its PINs and PUK (the signature PIN's only when the card is not
// known to have none; none for a ctx marked cardreader.WithoutTries, those
// a ctx marked cardreader.WithTriesOf names only) and, when the identity
// cache (Options.Cache) holds no identity for that ID, its certificates: what a status needs, in one
// SELECT (every opening of a card is followed by its identity, read
// through the cache: app.Service.discover). A card that refuses is left
// to the methods, which then ask it; a card that stops answering is an
// error of Open.
func (c *Card) prefetch(ctx context.Context, s *session) error {
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
	var tries *cardreader.Tries
	if cardreader.TriesWanted(ctx) { // not for a caller that lists certificates only
		t, err := c.readTries(s, id, cardreader.WantedTries(ctx))
		if err != nil {
			return err
		}
		if t.SignaturePINErr == nil {
			c.signaturePIN.Store(true) // the card has one (unblock)
		}
		tries = &t
	}
	var certs *[]cardreader.Certificate
	if cache := c.opts.Cache; cache != nil {
		if _, ok := cache.Get(cardreader.CacheKey(cardreader.BackendIDPrime, id)); !ok {
			read, err := s.certificates(ctx)
			switch {
			case err == nil:
				certs = &read
			case ctx.Err() != nil || lostCard(err):
				return err // the card left or stopped answering, or Open was cancelled
			}
			// Refused or unreadable: Certificates reads again and says why.
		}
	}
	c.pre.StoreWithCertificates(st.Events, id, tries, certs)
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

// lostCard reports whether err says the card gave no answer (it left or
// stopped answering: a response without a status word, or an error of
// PC/SC) rather than an answer the caller could not use.
func lostCard(err error) bool {
	var pe *cardreader.PCSCError
	return errors.Is(err, errShortResponse) || errors.As(err, &pe) ||
		errors.Is(err, cardreader.ErrCardRemoved) || errors.Is(err, cardreader.ErrCardUnresponsive)
}

// readTries reads the tries of which (cardreader.WantedTries) in s, an
// empty VERIFY each: the PIN's, the PUK's and (unless the card is known to
// have none: cardreader.ErrNoSignaturePIN, at no APDU) the signature
// PIN's; a count not in which is cardreader.ErrTriesNotRead. An error is
// returned only when the card stopped answering; a refusal is kept in
// Tries.
func (c *Card) readTries(s *session, id string, which cardreader.TriesOf) (cardreader.Tries, error) {
	t := cardreader.NotRead(which)
	if which&cardreader.TriesOfPIN != 0 {
		t.PIN, t.PINErr = s.tries(refPIN)
		t.PINErr = noReference(t.PINErr, refPIN)
	}
	if which&cardreader.TriesOfPUK != 0 {
		t.PUK, t.PUKErr = s.tries(refPUK)
		t.PUKErr = noReference(t.PUKErr, refPUK)
	}
	switch f := c.fact(id); {
	case f.noSignaturePIN:
		t.SignaturePINErr = cardreader.ErrNoSignaturePIN
	case which&cardreader.TriesOfSignaturePIN != 0:
		t.SignaturePIN, t.SignaturePINErr = s.tries(refSignaturePIN)
		t.SignaturePINErr = noReference(t.SignaturePINErr, refSignaturePIN)
		if errors.Is(t.SignaturePINErr, cardreader.ErrNoSignaturePIN) && id != "" {
			c.facts.Store(id, cardFacts{noSignaturePIN: true})
		}
	}
	for _, err := range []error{t.PINErr, t.PUKErr, t.SignaturePINErr} {
		if err != nil && !errors.Is(err, cardreader.ErrNoPUK) && !errors.Is(err, cardreader.ErrNoSignaturePIN) &&
			!errors.Is(err, cardreader.ErrTriesNotRead) && refusalOK(err) != nil {
			return t, err // the card left or stopped answering (do maps it)
		}
	}
	if t.PINErr != nil && !errors.Is(t.PINErr, cardreader.ErrTriesNotRead) {
		t.PINErr = fmt.Errorf("reading PIN tries: %w", t.PINErr)
	}
	if t.PUKErr != nil && !errors.Is(t.PUKErr, cardreader.ErrNoPUK) && !errors.Is(t.PUKErr, cardreader.ErrTriesNotRead) {
		t.PUKErr = fmt.Errorf("reading PUK tries: %w", t.PUKErr)
	}
	if t.SignaturePINErr != nil && !errors.Is(t.SignaturePINErr, cardreader.ErrNoSignaturePIN) && !errors.Is(t.SignaturePINErr, cardreader.ErrTriesNotRead) {
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

// Tries reads the tries of the identification PIN, the PUK and the
// signature PIN in one session (SELECT and an empty VERIFY each: four
// APDUs, three on a card known to have no signature PIN; only those a ctx
// marked cardreader.WithTriesOf names, the others
// cardreader.ErrTriesNotRead), or answers what the session that opened
// this Card read when it read them, once and within a few seconds (no
// APDU). Nothing is spent.
func (c *Card) Tries(ctx context.Context) (cardreader.Tries, error) {
	which := cardreader.WantedTries(ctx)
	if t, ok := c.pre.TakeTriesOf(c.reader, c.events, which); ok {
		return t, nil
	}
	var t cardreader.Tries
	err := c.do(ctx, func(s *session) error {
		var err error
		t, err = c.readTries(s, c.bind.ID(), which)
		return err
	})
	return t, err
}

var _ cardreader.TriesReader = (*Card)(nil)
