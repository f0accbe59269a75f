package piv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// Options configure the PIV backend. The zero value works.
type Options struct {
	// Cache, when set, forgets a card's identity after this backend changed
	// the card (RemoveCertificate).
	Cache *cardreader.IdentityCache
	// BusyTimeout is how long to keep trying a card that another program
	// holds (SCARD_E_SHARING_VIOLATION) before returning ErrCardBusy.
	// Default 1 s.
	BusyTimeout time.Duration
}

// Backend opens PIV cards. It implements cardreader.Backend.
type Backend struct {
	opts  Options
	locks sync.Map // reader name → *sync.Mutex, shared by its Cards
	// claimed are the IDs of cards Open claimed (GET VERSION answered):
	// Open asks such a card only for its ID again.
	claimed sync.Map // card ID → struct{}
	// seen is the card each reader held when its ID was last read.
	seen pcsc.SeenCards
}

var _ cardreader.Backend = (*Backend)(nil)

// New returns the PIV backend.
func New(opts Options) *Backend {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = time.Second
	}
	return &Backend{opts: opts}
}

// Name is cardreader.BackendPIV.
func (b *Backend) Name() string { return cardreader.BackendPIV }

// Open returns the PIV card in reader, or an error wrapping
// cardreader.ErrUnsupportedCard when the card has no PIV application or
// does not answer Yubico's GET VERSION with three bytes. That test is the
// one piv-go's Open makes, kept so that the backend claims the cards it
// always claimed (YubiKey-compatible PIV: the PUK's tries and the
// PIN-protected management key are Yubico extensions); any other card is
// left to the next backend. In the same session it reads what a status
// needs besides the certificates: the card's ID (GET DATA of the CHUID,
// read first: a card this backend claimed before skips GET VERSION) and
// the PIN's and PUK's tries, which ID and Tries then answer once
// (prefetch.go). Five APDUs, four for a card claimed before, three for
// the card whose ID was read last in this reader with no card inserted or
// removed since (its ID is not read again); it releases the card. A card
// whose identity Options.Cache does not hold has its certificates read in
// the same session too (the key history and the slots), which
// Certificates and CertificatesOf then answer once.
func (b *Backend) Open(ctx context.Context, reader cardreader.Reader) (cardreader.Card, error) {
	mu, _ := b.locks.LoadOrStore(reader.Name, new(sync.Mutex))
	c := &Card{reader: reader.Name, opts: b.opts, mu: mu.(*sync.Mutex)}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close(false)
	st := s.conn.State()
	c.bind.Record(st)
	// The card's ID first: a card this backend claimed before needs no
	// GET VERSION again (prefetch.go); the card whose ID was read last in
	// this reader, no card inserted or removed since, not even its ID.
	id, idErr := "", error(nil)
	if k, ok := b.seen.Known(reader.Name, st); ok {
		id = k
	} else {
		id, idErr = s.cardID()
	}
	if idErr != nil && sw(idErr) == 0 && !errors.Is(idErr, cardreader.ErrUnsupportedCard) {
		return nil, fmt.Errorf("opening %q: %w", c.reader, c.mapSessionErr(idErr))
	}
	if _, known := b.claimed.Load(id); idErr != nil || !known {
		v, err := s.do(0x00, insGetVersion, 0x00, 0x00, nil)
		if sw(err) != 0 || (err == nil && len(v) != 3) {
			return nil, fmt.Errorf("opening %q: GET VERSION: %d bytes, %v: %w", c.reader, len(v), err, cardreader.ErrUnsupportedCard)
		}
		if err != nil {
			return nil, fmt.Errorf("opening %q: %w", c.reader, c.mapSessionErr(err))
		}
		if idErr == nil {
			b.claimed.Store(id, struct{}{})
		}
	}
	if idErr == nil {
		b.seen.Remember(reader.Name, st, id)
		c.bind.SetID(s.conn.State(), id)
		if err := c.prefetch(ctx, s, id); err != nil {
			return nil, fmt.Errorf("opening %q: %w", c.reader, c.mapSessionErr(err))
		}
	}
	return c, nil
}

// Card is one PIV card. Every method opens a session on the card (shared
// access inside a PC/SC transaction), does one operation and closes it.
// Operations are serialised with a mutex per reader, shared by every Card
// the same Backend opened there: two signatures at once fail on a card.
//
// After an operation that verified the PIN or the management key, the card
// is reset when released, so that no other program finds it unlocked.
type Card struct {
	reader    string
	opts      Options
	mu        *sync.Mutex
	shortOnly atomic.Bool // the card or reader refused extended lengths
	// bind is the card this Card was opened on (its ATR and the reader's
	// event counter at Open, its ID when first read): a PIN, PUK or key
	// goes to no other card (bound).
	bind pcsc.Binding
	// pre is what the session that opened the card read besides SELECT
	// and GET VERSION: its ID and tries, and the certificates of a card
	// whose identity was not cached (prefetch.go).
	pre pcsc.Prefetch
}

var _ cardreader.Card = (*Card)(nil)

// Backend is cardreader.BackendPIV.
func (c *Card) Backend() string { return cardreader.BackendPIV }

// Reader is the PC/SC reader the card is in.
func (c *Card) Reader() string { return c.reader }

// session opens the APDU layer on the card.
func (c *Card) session(ctx context.Context) (*session, error) {
	s, err := openSession(ctx, c.reader, c.opts.BusyTimeout)
	if err != nil {
		// A card pulled while the session opens (SELECT) answers with no
		// status word: say it went, not what broke.
		return nil, fmt.Errorf("opening %q: %w", c.reader, c.mapSessionErr(err))
	}
	s.shortOnly = &c.shortOnly
	return s, nil
}

// bound checks, in s's transaction and before a PIN, a PUK or a key is
// sent, that s reaches the card this Card was opened on: free when no
// card was inserted or removed since (pcsc.Binding), else the card's ID is
// read and compared. Another card returns cardreader.ErrCardChanged.
func (c *Card) bound(s *session) error {
	if err := c.bind.Check(s.conn.State(), s.cardID); err != nil {
		return c.mapSessionErr(err)
	}
	return nil
}
