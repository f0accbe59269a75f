package idprime

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/sithseid/sithseid/cardreader"
)

// Algorithm references for MSE SET (OpenSC card-idprime.c
// idprime_set_security_env).
const (
	algRSAPKCS1DigestInfo = 0x02 // PKCS#1 v1.5, the card gets a DigestInfo
	algRSAPKCS1SHA256     = 0x42 // PKCS#1 v1.5 over a bare SHA-256 hash
	algRSAPKCS1SHA384     = 0x52
	algRSAPKCS1SHA512     = 0x62
	algRSAPSSSHA256       = 0x45 // PSS, MGF1 with the same hash, salt = hash length
	algRSAPSSSHA384       = 0x55
	algRSAPSSSHA512       = 0x65
	algECDSA              = 0x44 // raw r‖s (OpenSC 0.24+)
)

// Signer returns a crypto.Signer for the key of certificate certID ("kxc00").
// It reads the index, the certificate (for the public key) and the key's
// reference and PIN: from the 940's 0005 file, else key reference 0x56 +
// container with the identification PIN, for a container the cmapfile
// marks valid (OpenSC 0.23's rule for a V4 applet).
//
// Each Sign opens the card, presents pin to the key's PIN (0x11 for
// authentication keys, 0x83 for signing keys), sets the key and algorithm
// (MSE SET), hands over the hash (PSO HASH), signs (PSO COMPUTE DIGITAL
// SIGNATURE) and resets the card on release: five APDUs. It does not read
// the tries first: a VERIFY of a blocked PIN spends nothing (6983), so the
// read would protect nothing and cost an APDU on every TLS handshake.
// Signs on one Card are serialised by the card's mutex.
//
// The signer implements cardreader.PSSCapable (true for RSA keys).
func (c *Card) Signer(ctx context.Context, certID string, pin *cardreader.Secret) (crypto.Signer, error) {
	if _, ok := containerOf(certID); !ok {
		return nil, fmt.Errorf("signer for %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	if err := checkPINFormat(pin); err != nil {
		return nil, err
	}
	sg := &signer{card: c, name: certID, pin: pin, ctx: context.WithoutCancel(ctx)}
	err := c.do(ctx, func(s *session) error {
		entries, err := s.index()
		if err != nil {
			return err
		}
		f, ok := findFile(entries, certID, dirMSCP)
		if !ok {
			return cardreader.ErrCertificateNotFound
		}
		b, err := s.readFile(f.FID, maxCertificateSize)
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return cardreader.ErrCertificateNotFound
		}
		cert, err := parseCertificate(b)
		if err != nil {
			return err
		}
		sg.pub = cert.PublicKey
		k, ok, err := s.keyFor(containerIndex(f.Name))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no private key for the certificate: %w", cardreader.ErrCertificateNotFound)
		}
		sg.key = k
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("signer for %s: %w", certID, err)
	}
	switch sg.pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("signer for %s: key type %T: %w", certID, sg.pub, cardreader.ErrUnsupportedCard)
	}
	return sg, nil
}

// SignerWithCert is Signer for the key of certificate certID whose
// certificate the caller has already read from this card (its identity,
// read for the card ID this Card is bound to): neither the index nor the
// certificate is read again. The key's reference and PIN are read in the
// first Sign's session, after the card is checked to be the one this Card
// was opened on and before its VERIFY, MSE SET and PSO: a login signs in
// one session with one VERIFY (issue 17). A wrong or blocked PIN surfaces
// from the first Sign.
func (c *Card) SignerWithCert(ctx context.Context, certID string, cert *x509.Certificate, pin *cardreader.Secret) (crypto.Signer, error) {
	if _, ok := containerOf(certID); !ok || cert == nil {
		return nil, fmt.Errorf("signer for %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	if err := checkPINFormat(pin); err != nil {
		return nil, err
	}
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("signer for %s: key type %T: %w", certID, cert.PublicKey, cardreader.ErrUnsupportedCard)
	}
	return &signer{card: c, name: certID, pub: cert.PublicKey, pin: pin, ctx: context.WithoutCancel(ctx), keyLater: true}, nil
}

func containerIndex(name string) int {
	n, _ := containerOf(name)
	return n
}

// keyFor finds the key reference and PIN of container n: the 0005 file
// when the card has one, else 0x56 + n under the identification PIN if
// the cmapfile marks the container valid.
func (s *session) keyFor(n int) (keyRef, bool, error) {
	b, err := s.readFile(fidKeyRefs, 255*keyRefRecordLen)
	if sw(err) == swNotFound {
		cm, err := s.readFile(fidCMap, 255*cmapRecordLen)
		if err != nil {
			return keyRef{}, false, err
		}
		cs := parseCMap(cm)
		if n >= len(cs) || !cs[n].Valid {
			return keyRef{}, false, nil
		}
		return keyRef{Ref: byte(keyRefBase + n), Container: n, PINRef: refPIN}, true, nil
	}
	if err != nil {
		return keyRef{}, false, err
	}
	for _, k := range parseKeyRefs(b) {
		if k.Container == n {
			return k, true, nil
		}
	}
	return keyRef{}, false, nil
}

// signer signs with one key. It holds the caller's pin, which the caller
// wipes when the operation is over.
type signer struct {
	card *Card
	name string
	key  keyRef
	pub  crypto.PublicKey
	pin  *cardreader.Secret
	ctx  context.Context
	// keyLater: key is read in the next Sign's session (SignerWithCert);
	// both are guarded by the card's mutex (doPIN).
	keyLater bool
}

var _ cardreader.PSSCapable = (*signer)(nil)

func (s *signer) Public() crypto.PublicKey { return s.pub }

// SupportsPSS is true for RSA keys: the applet signs RSA-PSS itself
// (algorithms 45/55/65).
func (s *signer) SupportsPSS() bool {
	_, ok := s.pub.(*rsa.PublicKey)
	return ok
}

// Sign signs digest. For RSA, opts may be *rsa.PSSOptions (SHA-256/384/512,
// salt length = hash length, or PSSSaltLengthAuto/EqualsHash, which
// TLS 1.3 uses) or a hash: PKCS#1 v1.5, the card hashing nothing and
// padding itself (SHA-256/384/512 by algorithm, others as a DigestInfo).
// For ECDSA the result is ASN.1 DER.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.pin.Empty() {
		return nil, errors.New("signing: the PIN was wiped: the signer is no longer usable")
	}
	alg, data, err := algorithmFor(s.pub, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", s.name, err)
	}
	var sig []byte
	err = s.card.doPIN(s.ctx, func(ss *session) error {
		if s.keyLater {
			k, ok, err := ss.keyFor(containerIndex(s.name))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no private key for the certificate: %w", cardreader.ErrCertificateNotFound)
			}
			s.key, s.keyLater = k, false
		}
		if err := ss.verify(s.key.PINRef, s.pin); err != nil {
			return err
		}
		if err := ss.manageSecurityEnvironment(alg, s.key.Ref); err != nil {
			return fmt.Errorf("MSE SET: %w", err)
		}
		var err error
		sig, err = ss.sign(data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", s.name, err)
	}
	switch pub := s.pub.(type) {
	case *rsa.PublicKey:
		if len(sig) > pub.Size() || len(sig) == 0 {
			return nil, fmt.Errorf("signing with %s: %d-byte signature for a %d-byte key", s.name, len(sig), pub.Size())
		}
		if len(sig) < pub.Size() { // leading zeros dropped by the card
			sig = append(make([]byte, pub.Size()-len(sig)), sig...)
		}
		return sig, nil
	case *ecdsa.PublicKey:
		return ecdsaDER(sig)
	}
	return sig, nil
}

// digestInfoPrefix is the DER of DigestInfo up to the hash (RFC 8017
// section 9.2, note 1), for the hashes the card has no algorithm of its own
// for. MD5SHA1 (TLS 1.0/1.1) has none.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:       {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224:     {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA512_224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x05, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA512_256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x06, 0x05, 0x00, 0x04, 0x20},
	crypto.MD5SHA1:    {},
}

// algorithmFor picks the card algorithm for pub and opts and the data the
// card gets in PSO HASH.
func algorithmFor(pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) (byte, []byte, error) {
	h := opts.HashFunc()
	if h != 0 && len(digest) != h.Size() {
		return 0, nil, fmt.Errorf("%d-byte digest for %v", len(digest), h)
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			alg, ok := map[crypto.Hash]byte{crypto.SHA256: algRSAPSSSHA256, crypto.SHA384: algRSAPSSSHA384, crypto.SHA512: algRSAPSSSHA512}[h]
			if !ok {
				return 0, nil, fmt.Errorf("RSA-PSS with %v: the card signs PSS over SHA-256, SHA-384 or SHA-512 only", h)
			}
			switch pss.SaltLength {
			case rsa.PSSSaltLengthAuto, rsa.PSSSaltLengthEqualsHash, h.Size():
			default:
				return 0, nil, fmt.Errorf("RSA-PSS salt length %d: the card's salt is the hash length (%d)", pss.SaltLength, h.Size())
			}
			return alg, digest, nil
		}
		switch h {
		case crypto.SHA256:
			return algRSAPKCS1SHA256, digest, nil
		case crypto.SHA384:
			return algRSAPKCS1SHA384, digest, nil
		case crypto.SHA512:
			return algRSAPKCS1SHA512, digest, nil
		case 0:
			// The caller's data is already what is padded (crypto/rsa's
			// convention for hash 0): send it as it is.
			return algRSAPKCS1DigestInfo, digest, nil
		}
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return 0, nil, fmt.Errorf("PKCS#1 v1.5 with %v: no DigestInfo known", h)
		}
		return algRSAPKCS1DigestInfo, append(append([]byte(nil), prefix...), digest...), nil
	case *ecdsa.PublicKey:
		if _, ok := opts.(*rsa.PSSOptions); ok {
			return 0, nil, errors.New("RSA-PSS options for an ECDSA key")
		}
		// OpenSC pads the hash with leading zeros to a multiple of 8 bytes.
		pad := (8 - len(digest)%8) % 8
		return algECDSA, append(make([]byte, pad), digest...), nil
	}
	return 0, nil, fmt.Errorf("key type %T", pub)
}

// ecdsaDER turns the card's r‖s into an ASN.1 ECDSA-Sig-Value.
func ecdsaDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("ECDSA signature of %d bytes", len(raw))
	}
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(raw[:len(raw)/2]),
		new(big.Int).SetBytes(raw[len(raw)/2:]),
	})
}
