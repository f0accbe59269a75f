package piv

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// readTries reads the tries of which (cardreader.WantedTries): the PIN's
// (GET METADATA, else an empty VERIFY) and the PUK's (GET METADATA; -1
// when the card cannot tell) in s, one APDU each; a count not in which is
// cardreader.ErrTriesNotRead. PIV has no signature PIN. An error is
// returned only when the card stopped answering; a refusal is kept in
// Tries.
func readTries(s *session, which cardreader.TriesOf) (cardreader.Tries, error) {
	t := cardreader.NotRead(which)
	t.SignaturePINErr = cardreader.ErrNoSignaturePIN
	if which&cardreader.TriesOfPIN != 0 {
		n, err := s.pinRetries()
		if err != nil && sw(err) == 0 {
			return t, err
		}
		t.PIN = cardreader.PINStatus{Retries: n, Blocked: n == 0}
		if err != nil {
			t.PINErr = fmt.Errorf("reading PIN tries: %w", err)
		}
	}
	if which&cardreader.TriesOfPUK != 0 {
		n, _, err := s.retries(refPUK)
		if err != nil && sw(err) == 0 {
			return t, err
		}
		t.PUK = cardreader.PINStatus{Retries: n, Blocked: n == 0}
		if err != nil {
			t.PUKErr = fmt.Errorf("reading PUK tries: %w", err)
		}
	}
	return t, nil
}

// prefetch keeps id and reads the tries in the session that opened the
// card (none for a ctx marked cardreader.WithoutTries; those a ctx marked
// cardreader.WithTriesOf names only) and, when the
// identity cache (Options.Cache) holds no identity for that ID, its
// certificates: what a status needs, in one SELECT (every opening of a
// card is followed by its identity, read through the cache:
// app.Service.discover). A card that refuses is left to the methods, which
// then ask it; a card that stops answering is an error of Open.
func (c *Card) prefetch(ctx context.Context, s *session, id string) error {
	st := s.conn.State()
	if st == nil || !st.EventsOK {
		return nil // PC/SC cannot tell a change: no prefetch
	}
	var tries *cardreader.Tries
	if cardreader.TriesWanted(ctx) { // not for a caller that lists certificates only
		t, err := readTries(s, cardreader.WantedTries(ctx))
		if err != nil {
			return err
		}
		tries = &t
	}
	var certs *[]cardreader.Certificate
	if cache := c.opts.Cache; cache != nil {
		if _, ok := cache.Get(cardreader.CacheKey(cardreader.BackendPIV, id)); !ok {
			read, err := s.certificates(ctx)
			switch {
			case err == nil:
				certs = &read
			case ctx.Err() != nil || sw(err) == 0:
				return err // the card left or stopped answering, or Open was cancelled
			}
			// Refused or unreadable: Certificates reads again and says why.
		}
	}
	c.pre.StoreWithCertificates(st.Events, id, tries, certs)
	return nil
}

// CertificatesOf reads the certificates of the card whose ID is id (read
// in an earlier session: the identity cache keeps them under it): in the
// session that reads them the card is checked to be that card, at no APDU
// while no card was inserted or removed since its ID was read, else by
// reading its ID again (pcsc.CheckID); another card is
// cardreader.ErrCardChanged. The certificates the session that opened the
// card read answer once, within a few seconds, when that session read id
// in the same insertion.
func (c *Card) CertificatesOf(ctx context.Context, id string) ([]cardreader.Certificate, error) {
	if certs, ok := c.pre.TakeCertificatesOf(c.reader, pcsc.ReaderEvents, id); ok {
		return certs, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close(false)
	if err := pcsc.CheckID(&c.bind, s.conn.State(), id, s.cardID); err != nil {
		return nil, fmt.Errorf("reading certificates: %w", c.mapSessionErr(err))
	}
	certs, err := s.certificates(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading certificates: %w", c.mapSessionErr(err))
	}
	return certs, nil
}

var _ cardreader.CertificatesOfReader = (*Card)(nil)

// Tries reads the PIN's and the PUK's tries in one session (SELECT and a
// GET METADATA each: three APDUs; only those a ctx marked
// cardreader.WithTriesOf names, the others cardreader.ErrTriesNotRead), or
// answers what the session that opened this Card read when it read them,
// once and within a few seconds (no APDU). Nothing is spent.
func (c *Card) Tries(ctx context.Context) (cardreader.Tries, error) {
	which := cardreader.WantedTries(ctx)
	if t, ok := c.pre.TakeTriesOf(c.reader, pcsc.ReaderEvents, which); ok {
		return t, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return cardreader.Tries{}, err
	}
	defer s.close(false)
	t, err := readTries(s, which)
	if err != nil {
		return t, c.mapSessionErr(err)
	}
	return t, nil
}

var _ cardreader.TriesReader = (*Card)(nil)
