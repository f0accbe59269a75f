package piv

import (
	"context"
	"crypto"
	"errors"
	"time"

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
type Backend struct{ opts Options }

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
// cardreader.ErrUnsupportedCard when the card has no PIV application piv-go
// can use.
func (b *Backend) Open(ctx context.Context, reader cardreader.Reader) (cardreader.Card, error) {
	return nil, errors.New("piv: not implemented yet")
}

// Card is one PIV card. Every method opens the card, does one operation and
// closes it. Operations on one Card are serialised by its mutex.
type Card struct {
	reader string
	opts   Options
}

var _ cardreader.Card = (*Card)(nil)

func (c *Card) Backend() string { return cardreader.BackendPIV }
func (c *Card) Reader() string  { return c.reader }

var errTODO = errors.New("piv: not implemented yet")

func (c *Card) ID(ctx context.Context) (string, error) { return "", errTODO }
func (c *Card) Certificates(ctx context.Context) ([]cardreader.Certificate, error) {
	return nil, errTODO
}
func (c *Card) PINStatus(ctx context.Context) (cardreader.PINStatus, error) {
	return cardreader.PINStatus{}, errTODO
}
func (c *Card) PUKStatus(ctx context.Context) (cardreader.PINStatus, error) {
	return cardreader.PINStatus{}, errTODO
}
func (c *Card) VerifyPIN(ctx context.Context, pin *cardreader.Secret) error { return errTODO }
func (c *Card) ChangePIN(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error {
	return errTODO
}
func (c *Card) UnblockPIN(ctx context.Context, puk, newPIN *cardreader.Secret) error { return errTODO }
func (c *Card) Signer(ctx context.Context, certID string, pin *cardreader.Secret) (crypto.Signer, error) {
	return nil, errTODO
}
func (c *Card) RemoveCertificate(ctx context.Context, certID string, auth cardreader.RemoveAuth) error {
	return errTODO
}
