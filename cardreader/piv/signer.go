package piv

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/sithseid/sithseid/cardreader"
)

// Signer returns a crypto.Signer for the key in slot certID. The public key
// comes from the slot's certificate. Each Sign opens the card, verifies pin,
// signs (GENERAL AUTHENTICATE, SP 800-73-4 Part 2 section 3.2.4) in the same
// session, closes and resets the card. Signs on one Card are serialised by
// the card's mutex.
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
	obj, err := s.getData(slot.Object)
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
	alg, ok := keyAlgorithm(cert.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer for %s: key type %T: %w", certID, cert.PublicKey, cardreader.ErrUnsupportedCard)
	}
	return &signer{card: c, slot: slot, alg: alg, pub: cert.PublicKey, pin: pin, ctx: context.WithoutCancel(ctx)}, nil
}

// SignerWithCert is Signer for the key in slot certID whose certificate
// the caller has already read from this card (its identity, read for the
// card ID this Card is bound to): the certificate is not read again, so
// making the signer costs the card nothing. Each Sign is as Signer's: in
// one session, the card checked to be the one this Card was opened on
// (the binding), then VERIFY and GENERAL AUTHENTICATE. A wrong or blocked
// PIN surfaces from the first Sign. A login signs once, with one VERIFY
// (issue 17).
func (c *Card) SignerWithCert(ctx context.Context, certID string, cert *x509.Certificate, pin *cardreader.Secret) (crypto.Signer, error) {
	slot, ok := slotByID(certID)
	if !ok || cert == nil {
		return nil, fmt.Errorf("signer for %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	if err := checkPINFormat(pin); err != nil {
		return nil, err
	}
	alg, ok := keyAlgorithm(cert.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer for %s: key type %T: %w", certID, cert.PublicKey, cardreader.ErrUnsupportedCard)
	}
	return &signer{card: c, slot: slot, alg: alg, pub: cert.PublicKey, pin: pin, ctx: context.WithoutCancel(ctx)}, nil
}

// signer signs with one slot's key. It holds the caller's pin, which the
// caller wipes when the operation is over.
type signer struct {
	card *Card
	slot slotInfo
	alg  byte
	pub  crypto.PublicKey
	pin  *cardreader.Secret
	ctx  context.Context
}

var _ cardreader.PSSCapable = (*signer)(nil)

func (s *signer) Public() crypto.PublicKey { return s.pub }

// SupportsPSS is true for RSA keys: the card does raw RSA and the PSS
// encoding is made on the host.
func (s *signer) SupportsPSS() bool {
	_, ok := s.pub.(*rsa.PublicKey)
	return ok
}

// Sign signs digest. For RSA, opts may be *rsa.PSSOptions (PSS, the salt
// read from rnd) or a hash (PKCS#1 v1.5); for ECDSA the result is ASN.1
// DER. The PIN is verified right before the signature in the same session,
// whatever the slot's PIN policy.
func (s *signer) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.pin.Empty() {
		return nil, errors.New("signing: the PIN was wiped: the signer is no longer usable")
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	input, err := signInput(rnd, s.pub, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("signing with slot %02x: %w", s.slot.Key, err)
	}
	c := s.card
	c.mu.Lock()
	defer c.mu.Unlock()
	var sig []byte
	// No tries read before the VERIFY: the caller read them before asking
	// for the PIN, and a blocked PIN is refused by the card (6983) without
	// anything spent (issue 17: nothing done twice in a login).
	err = c.withPINTries(s.ctx, false, func(ss *session) error {
		if err := ss.verifyPIN(s.pin); err != nil {
			return err
		}
		sig, err = ss.sign(s.alg, byte(s.slot.Key), input)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("signing with slot %02x: %w", s.slot.Key, err)
	}
	return sig, nil
}
