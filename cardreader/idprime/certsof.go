package idprime

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// CertificatesOf reads the certificates of the card whose ID is id (read
// in an earlier session: the identity cache keeps them under it). In the
// session that reads them the card is checked to be that card: no APDU
// while no card was inserted or removed since its ID was read, else its
// ID is read again (pcsc.CheckID); another card is
// cardreader.ErrCardChanged and nothing of it is returned. The
// certificates the session that opened the card read answer once, within
// a few seconds and in the same insertion, when that session read id.
func (c *Card) CertificatesOf(ctx context.Context, id string) ([]cardreader.Certificate, error) {
	if certs, ok := c.pre.TakeCertificatesOf(c.reader, c.events, id); ok {
		return certs, nil
	}
	var out []cardreader.Certificate
	err := c.do(ctx, func(s *session) error {
		if err := pcsc.CheckID(&c.bind, c.state(s), id, s.cardID); err != nil {
			return err
		}
		var err error
		out, err = s.certificates(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading certificates: %w", err)
	}
	return out, nil
}

var _ cardreader.CertificatesOfReader = (*Card)(nil)
