package idprime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// Options configure the IDPrime backend. The zero value works.
type Options struct {
	// Cache, when set, is the identity cache the application keeps. The
	// backend changes nothing the cache holds (it cannot remove
	// certificates), so it is kept for symmetry with the other backends.
	Cache *cardreader.IdentityCache
	// BusyTimeout is how long to keep trying a card that another program
	// holds (SCARD_E_SHARING_VIOLATION) before returning ErrCardBusy.
	// Default 1 s.
	BusyTimeout time.Duration
}

// Backend opens Thales IDPrime cards. It implements cardreader.Backend.
type Backend struct {
	opts  Options
	locks sync.Map // reader name → *sync.Mutex, shared by its Cards
	facts sync.Map // card ID → cardFacts
	// seen is the card each reader held when its ID was last read.
	seen pcsc.SeenCards
}

var _ cardreader.Backend = (*Backend)(nil)

// New returns the IDPrime backend.
func New(opts Options) *Backend {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = time.Second
	}
	return &Backend{opts: opts}
}

// Name is cardreader.BackendIDPrime.
func (b *Backend) Name() string { return cardreader.BackendIDPrime }

// Open returns the IDPrime card in reader. A card whose ATR is not an
// IDPrime's is refused with cardreader.ErrUnsupportedCard before any APDU
// is sent (reader.ATR when the caller has it, else the ATR PC/SC reports
// on connecting). Otherwise Open selects the applet (a refusal is
// ErrUnsupportedCard too) and, in the same session, reads what a status
// needs besides the certificates: the card ID (GET DATA of the CPLC)
// and the tries of the PIN, the PUK and the signature PIN (an empty VERIFY
// each; none for the signature PIN of a card seen to have none), which ID
// and Tries then answer once (prefetch.go). Five APDUs, four for a card
// known to have no signature PIN; it releases the card.
func (b *Backend) Open(ctx context.Context, reader cardreader.Reader) (cardreader.Card, error) {
	if len(reader.ATR) > 0 && !isIDPrimeATR(reader.ATR) {
		return nil, fmt.Errorf("opening %q: ATR % X: %w", reader.Name, reader.ATR, cardreader.ErrUnsupportedCard)
	}
	mu, _ := b.locks.LoadOrStore(reader.Name, new(sync.Mutex))
	c := &Card{reader: reader.Name, opts: b.opts, mu: mu.(*sync.Mutex), probe: probe, events: pcsc.ReaderEvents, facts: &b.facts, seen: &b.seen}
	c.connect = func(ctx context.Context) (*session, error) {
		return connectPCSC(ctx, c.reader, c.opts.BusyTimeout)
	}
	if err := c.open(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// open checks the ATR PC/SC reports and selects the applet.
func (c *Card) open(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.connect(ctx)
	if err != nil {
		return fmt.Errorf("opening %q: %w", c.reader, err)
	}
	defer s.end()
	if s.atr != nil && !isIDPrimeATR(s.atr) {
		return fmt.Errorf("opening %q: ATR % X: %w", c.reader, s.atr, cardreader.ErrUnsupportedCard)
	}
	if err := s.selectApplet(); err != nil {
		return fmt.Errorf("opening %q: %w", c.reader, c.mapErr(err))
	}
	c.bind.Record(c.state(s))
	if err := c.prefetch(ctx, s); err != nil { // the ID, tries and certificates a status needs
		return fmt.Errorf("opening %q: %w", c.reader, c.mapErr(err))
	}
	return nil
}

// idprimeATR and idprimeATRMask: OpenSC's catch-all entry for the IDPrime
// family ("IDPrime MD 8840, 3840, 3810, 840, 830 and MD 940", card-idprime.c
// idprime_atrs): T=1, historical bytes 80 31 80 65 B0 .. .. .. .. 12 .. ..
// 82 90 00, the model bytes wildcarded. It matches every model entry of
// the table, the 940's (… 85 59 56 FB …) included.
var (
	idprimeATR     = []byte{0x3B, 0x7F, 0x96, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x84, 0x41, 0x3D, 0xF6, 0x12, 0x0F, 0xFE, 0x82, 0x90, 0x00}
	idprimeATRMask = []byte{0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0xFF}
)

// isIDPrimeATR reports whether atr is an IDPrime card's.
func isIDPrimeATR(atr []byte) bool {
	if len(atr) != len(idprimeATR) {
		return false
	}
	for i := range atr {
		if atr[i]&idprimeATRMask[i] != idprimeATR[i]&idprimeATRMask[i] {
			return false
		}
	}
	return true
}

// mapErr explains an error that carries no PC/SC code: a response without
// a status word means the card left (or stopped answering).
func (c *Card) mapErr(err error) error {
	if !errors.Is(err, errShortResponse) || errors.Is(err, cardreader.ErrCardUnresponsive) || errors.Is(err, cardreader.ErrCardRemoved) {
		return err
	}
	if c.probe == nil {
		return fmt.Errorf("%v: %w", err, cardreader.ErrCardRemoved)
	}
	if perr := c.probe(c.reader); perr != nil {
		return fmt.Errorf("%v: %w", err, perr)
	}
	return fmt.Errorf("%v: %w", err, cardreader.ErrCardUnresponsive)
}

// probe looks at the reader after a response without a status word
// (pcsc.Probe), for up to probeWait.
func probe(reader string) error { return pcsc.Probe(reader, probeWait) }

// probeWait bounds probe: well inside the 2 s in which a pulled card must
// give a typed error.
const probeWait = time.Second
