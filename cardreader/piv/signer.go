package piv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"

	piv "github.com/sithseid/sithseid/cardreader/piv/internal/pivgo"

	"github.com/sithseid/sithseid/cardreader"
)

// Signer returns a crypto.Signer for the key in slot certID. The public key
// comes from the slot's certificate. Each Sign opens the card, verifies pin,
// signs (GENERAL AUTHENTICATE, SP 800-73-4 Part 2 section 3.2.4), closes and
// resets the card. Signs on one Card are serialised by the card's mutex.
func (c *Card) Signer(ctx context.Context, certID string, pin *cardreader.Secret) (crypto.Signer, error) {
	slot, ok := slotByID(certID)
	if !ok {
		return nil, fmt.Errorf("signer for %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	if err := checkPINFormat(pin); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	obj, err := s.getData(slot.object)
	s.close(false)
	if err != nil {
		return nil, fmt.Errorf("signer for %s: %w", certID, c.mapSessionErr(err))
	}
	if len(obj) == 0 {
		return nil, fmt.Errorf("signer for %s: %w", certID, cardreader.ErrCertificateNotFound)
	}
	cert, err := parseCertObject(obj)
	if err != nil {
		return nil, fmt.Errorf("signer for %s: %w", certID, err)
	}
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("signer for %s: key type %T: %w", certID, cert.PublicKey, cardreader.ErrUnsupportedCard)
	}
	pivSlot := piv.Slot{Key: uint32(slot.key), Object: slot.object}
	return &signer{card: c, slot: pivSlot, pub: cert.PublicKey, pin: pin, ctx: context.WithoutCancel(ctx)}, nil
}

// signer signs with one slot's key. It holds the caller's pin, which the
// caller wipes when the operation is over.
type signer struct {
	card *Card
	slot piv.Slot
	pub  crypto.PublicKey
	pin  *cardreader.Secret
	ctx  context.Context
}

var _ cardreader.PSSCapable = (*signer)(nil)

func (s *signer) Public() crypto.PublicKey { return s.pub }

// SupportsPSS is true for RSA keys: the card does raw RSA and piv-go pads
// PSS on the host.
func (s *signer) SupportsPSS() bool {
	_, ok := s.pub.(*rsa.PublicKey)
	return ok
}

// Sign signs digest. For RSA, opts may be *rsa.PSSOptions (PSS) or a hash
// (PKCS#1 v1.5); for ECDSA the result is ASN.1 DER.
func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.pin.Empty() {
		return nil, errors.New("signing: the PIN was wiped: the signer is no longer usable")
	}
	c := s.card
	c.mu.Lock()
	defer c.mu.Unlock()
	var sig []byte
	err := c.withPIN(s.ctx, func(yk *piv.YubiKey) error {
		// PINPolicyAlways: verify the PIN right before signing, whatever the
		// slot's policy, and skip piv-go's GET METADATA for the policy.
		priv, err := yk.PrivateKey(s.slot, s.pub, piv.KeyAuth{PINBytes: s.pin.Bytes(), PINPolicy: piv.PINPolicyAlways})
		if err != nil {
			return mapErr(err, pinSecret, c.reader)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return fmt.Errorf("key %T cannot sign", priv)
		}
		sig, err = signer.Sign(rand, digest, opts)
		return mapErr(err, pinSecret, c.reader)
	})
	if err != nil {
		return nil, fmt.Errorf("signing with slot %s: %w", s.slot, err)
	}
	return sig, nil
}
