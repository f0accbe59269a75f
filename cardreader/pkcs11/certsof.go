package pkcs11

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
)

// CertificatesOf reads the certificates of the card whose ID is id (read
// in an earlier session: the identity cache keeps them under it). A Card
// is bound to the token it was opened on: its ID is that token's, and
// every session checks with C_GetTokenInfo before it opens that the same
// token is in the slot (openSession), so Certificates reads no other
// card's objects; an id that is not this Card's is
// cardreader.ErrCardChanged at no call to the module.
func (c *Card) CertificatesOf(ctx context.Context, id string) ([]cardreader.Certificate, error) {
	if own := c.token.Manufacturer + "/" + c.token.Model + "/" + c.token.Serial; id != own {
		return nil, fmt.Errorf("reading certificates: card %s opened, not %s: %w", own, id, cardreader.ErrCardChanged)
	}
	return c.Certificates(ctx)
}

var _ cardreader.CertificatesOfReader = (*Card)(nil)
