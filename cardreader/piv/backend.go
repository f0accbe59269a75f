package piv

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebfe/scard"
	piv "github.com/sithseid/sithseid/cardreader/piv/internal/pivgo"

	"github.com/sithseid/sithseid/cardreader"
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
// cardreader.ErrUnsupportedCard when piv-go cannot use the card: piv.Open
// needs the PIV application and an answer of exactly three bytes to
// Yubico's GET VERSION. It costs those two APDUs and releases the card.
func (b *Backend) Open(ctx context.Context, reader cardreader.Reader) (cardreader.Card, error) {
	mu, _ := b.locks.LoadOrStore(reader.Name, new(sync.Mutex))
	c := &Card{reader: reader.Name, opts: b.opts, mu: mu.(*sync.Mutex)}
	yk, err := c.openYubiKey(ctx)
	if err != nil {
		return nil, err
	}
	yk.Close()
	return c, nil
}

// Card is one PIV card. Every method opens the card, does one operation and
// closes it. Operations are serialised with a mutex per reader, shared by
// every Card the same Backend opened there: piv-go opens the card
// exclusively, and two signatures at once fail on a card.
//
// After an operation that verified the PIN or the management key, the card
// is reset when released, so that no other program finds it unlocked.
type Card struct {
	reader    string
	opts      Options
	mu        *sync.Mutex
	shortOnly atomic.Bool // the card or reader refused extended lengths
}

var _ cardreader.Card = (*Card)(nil)

// Backend is cardreader.BackendPIV.
func (c *Card) Backend() string { return cardreader.BackendPIV }

// Reader is the PC/SC reader the card is in.
func (c *Card) Reader() string { return c.reader }

// openYubiKey opens the card with piv-go, retrying while another program
// holds it.
func (c *Card) openYubiKey(ctx context.Context) (*piv.YubiKey, error) {
	deadline := time.Now().Add(c.opts.BusyTimeout)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		yk, err := piv.Open(c.reader)
		if err == nil {
			return yk, nil
		}
		merr := mapErr(err, noSecret, c.reader)
		if errors.Is(merr, cardreader.ErrCardBusy) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		var ce *cardreader.CardError
		var pe *cardreader.PCSCError
		if errors.As(merr, &ce) || !errors.As(merr, &pe) && !isServiceOrCard(merr) {
			// SELECT refused or GET VERSION not answered as piv-go wants.
			return nil, fmt.Errorf("opening %q: %v: %w", c.reader, merr, cardreader.ErrUnsupportedCard)
		}
		return nil, fmt.Errorf("opening %q: %w", c.reader, merr)
	}
}

func isServiceOrCard(err error) bool {
	for _, s := range []error{cardreader.ErrCardRemoved, cardreader.ErrNoReader, cardreader.ErrNoService, cardreader.ErrCardBusy, cardreader.ErrCardUnresponsive} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// session opens the APDU layer on the card.
func (c *Card) session(ctx context.Context) (*session, error) {
	s, err := openSession(ctx, c.reader, c.opts.BusyTimeout)
	if err != nil {
		// A card pulled while the session opens (SELECT, GET VERSION)
		// answers with no status word: say it went, not what broke.
		return nil, fmt.Errorf("opening %q: %w", c.reader, c.mapSessionErr(err))
	}
	s.shortOnly = &c.shortOnly
	return s, nil
}

// resetCard resets the card after piv-go released it, which clears the
// verified PIN: piv-go disconnects with SCARD_LEAVE_CARD, and the PIN would
// stay verified for the next program. Errors are ignored: a card that is
// gone holds no state.
func (c *Card) resetCard() {
	sc, err := scard.EstablishContext()
	if err != nil {
		return
	}
	defer sc.Release()
	if card, err := sc.Connect(c.reader, scard.ShareShared, scard.ProtocolAny); err == nil {
		_ = card.Disconnect(scard.ResetCard)
	}
}
