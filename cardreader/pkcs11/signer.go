package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sithseid/sithseid/cardreader"
)

// Signer signs with the private key that has the CKA_ID of a certificate.
// Each Sign opens a session, logs in with the PIN, signs, logs out and
// closes the session. Signs on one card are serialised.
type Signer struct {
	card *Card
	ctx  context.Context
	id   []byte
	pub  crypto.PublicKey
	pin  *cardreader.Secret
	// pss is how RSA-PSS is made: CKM_RSA_PKCS_PSS, CKM_RSA_X_509 (host-side
	// EMSA-PSS padding) or 0 (not at all).
	pss uint
}

var (
	_ crypto.Signer         = (*Signer)(nil)
	_ cardreader.PSSCapable = (*Signer)(nil)
)

// Signer returns a signer for the key of certificate certID (hex CKA_ID).
// It reads the certificate and the slot's mechanism list but does not log
// in. ctx bounds every Sign made through crypto.Signer; SignContext takes
// its own. The caller owns pin and wipes it after the operation.
func (c *Card) Signer(ctx context.Context, certID string, pin *cardreader.Secret) (crypto.Signer, error) {
	return c.signer(ctx, certID, pin)
}

func (c *Card) signer(ctx context.Context, certID string, pin *cardreader.Secret) (*Signer, error) {
	certs, err := c.Certificates(ctx)
	if err != nil {
		return nil, err
	}
	s := &Signer{card: c, ctx: ctx, pin: pin}
	for _, cert := range certs {
		if cert.ID == certID {
			s.pub = cert.Cert.PublicKey
			s.id, _ = hex.DecodeString(certID)
			break
		}
	}
	if s.pub == nil {
		return nil, fmt.Errorf("signer for %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	switch s.pub.(type) {
	case *rsa.PublicKey:
		if err := c.mod.begin(); err != nil {
			return nil, fmt.Errorf("signer for %q: %w", certID, err)
		}
		mechs, err := c.mod.ctx.GetMechanismList(c.slot)
		c.mod.end()
		if err != nil {
			return nil, fmt.Errorf("signer for %q: listing mechanisms: %w", certID, c.removed(mapErr(err)))
		}
		for _, m := range mechs {
			switch {
			case m.Mechanism == pkcs11.CKM_RSA_PKCS_PSS:
				s.pss = pkcs11.CKM_RSA_PKCS_PSS
			case m.Mechanism == pkcs11.CKM_RSA_X_509 && s.pss == 0:
				s.pss = pkcs11.CKM_RSA_X_509
			}
		}
	case *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("signer for %q: unsupported key type %T", certID, s.pub)
	}
	return s, nil
}

// Public is the certificate's public key.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// SupportsPSS reports whether an RSA key can make RSA-PSS signatures
// (CKM_RSA_PKCS_PSS, or raw CKM_RSA_X_509 with the padding built on the
// host). It is false for non-RSA keys, which have no use for PSS.
func (s *Signer) SupportsPSS() bool { return s.pss != 0 }

// Sign implements crypto.Signer under the context given to Card.Signer.
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.SignContext(s.ctx, rand, digest, opts)
}

// SignContext signs digest (already hashed with opts.HashFunc()). RSA:
// PKCS#1 v1.5 with CKM_RSA_PKCS over a DigestInfo built here (RFC 8017
// §9.2), or PSS for *rsa.PSSOptions. ECDSA: CKM_ECDSA, whose r||s output
// is returned as the ASN.1 SEQUENCE crypto/ecdsa uses.
func (s *Signer) SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	mech, input, err := s.prepare(rand, digest, opts)
	if err != nil {
		return nil, err
	}
	var sig []byte
	pin := clonePIN(s.pin)
	err = s.card.do(ctx, false, func(sh pkcs11.SessionHandle) error {
		if err := s.card.login(sh, pkcs11.CKU_USER, pin); err != nil {
			return err
		}
		defer func() { _ = s.card.mod.ctx.Logout(sh) }()
		if err := ctx.Err(); err != nil {
			return err
		}
		keys, err := s.card.find(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_ID, s.id),
		})
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return ErrKeyNotFound
		}
		always := false
		if a, err := s.card.mod.ctx.GetAttributeValue(sh, keys[0], []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, nil),
		}); err == nil && len(a) == 1 && len(a[0].Value) == 1 {
			always = a[0].Value[0] != 0
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.card.mod.ctx.SignInit(sh, []*pkcs11.Mechanism{mech}, keys[0]); err != nil {
			return mapErr(err)
		}
		if always {
			// Keys with CKA_ALWAYS_AUTHENTICATE (PIV slot 9C, IDPrime
			// signature keys) want the PIN again for each signature
			// (PKCS#11 v2.40 §4.9, CKU_CONTEXT_SPECIFIC).
			if err := s.card.login(sh, pkcs11.CKU_CONTEXT_SPECIFIC, pin); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sig, err = s.card.mod.ctx.Sign(sh, input)
		return mapErr(err)
	}, pin)
	if err != nil {
		return nil, fmt.Errorf("signing with %x: %w", s.id, err)
	}
	if _, ok := s.pub.(*ecdsa.PublicKey); ok {
		return ecdsaASN1(sig)
	}
	return sig, nil
}

// prepare picks the mechanism and builds its input.
func (s *Signer) prepare(rand io.Reader, digest []byte, opts crypto.SignerOpts) (*pkcs11.Mechanism, []byte, error) {
	h := opts.HashFunc()
	if h != 0 && len(digest) != h.Size() {
		return nil, nil, fmt.Errorf("digest is %d bytes, %v wants %d", len(digest), h, h.Size())
	}
	switch pub := s.pub.(type) {
	case *ecdsa.PublicKey:
		return pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest, nil
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return s.preparePSS(rand, pub, digest, h, pss)
		}
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return nil, nil, fmt.Errorf("PKCS#1 v1.5 with %v is not supported", h)
		}
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil), append(append([]byte{}, prefix...), digest...), nil
	}
	return nil, nil, fmt.Errorf("unsupported key type %T", s.pub)
}

func (s *Signer) preparePSS(rand io.Reader, pub *rsa.PublicKey, digest []byte, h crypto.Hash, opts *rsa.PSSOptions) (*pkcs11.Mechanism, []byte, error) {
	hm, ok := pssHash[h]
	if !ok {
		return nil, nil, fmt.Errorf("RSA-PSS with %v is not supported", h)
	}
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	saltLen := opts.SaltLength
	switch saltLen {
	case rsa.PSSSaltLengthEqualsHash:
		saltLen = h.Size()
	case rsa.PSSSaltLengthAuto:
		saltLen = emLen - h.Size() - 2
	}
	if saltLen < 0 || emLen < h.Size()+saltLen+2 {
		return nil, nil, errors.New("RSA-PSS: key too small for the hash and salt")
	}
	switch s.pss {
	case pkcs11.CKM_RSA_PKCS_PSS:
		params := pkcs11.NewPSSParams(hm.mech, hm.mgf, uint(saltLen))
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, params), digest, nil
	case pkcs11.CKM_RSA_X_509:
		em, err := emsaPSSEncode(rand, digest, emBits, saltLen, h)
		if err != nil {
			return nil, nil, err
		}
		// Raw RSA takes an integer the size of the modulus (RFC 8017
		// §8.1.1 step 2a: OS2IP of EM, then RSASP1).
		k := (pub.N.BitLen() + 7) / 8
		in := make([]byte, k)
		copy(in[k-len(em):], em)
		return pkcs11.NewMechanism(pkcs11.CKM_RSA_X_509, nil), in, nil
	}
	return nil, nil, errors.New("RSA-PSS is not supported by this token")
}

// digestInfoPrefix is the DER of DigestInfo without the digest (RFC 8017
// §9.2, note 1). Hash 0 signs the input as is (TLS 1.1's MD5+SHA1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	0:             {},
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

var pssHash = map[crypto.Hash]struct{ mech, mgf uint }{
	crypto.SHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1},
	crypto.SHA224: {pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224},
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// emsaPSSEncode is EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with MGF1 over the
// same hash.
func emsaPSSEncode(rand io.Reader, mHash []byte, emBits, sLen int, hash crypto.Hash) ([]byte, error) {
	hLen := hash.Size()
	emLen := (emBits + 7) / 8
	salt := make([]byte, sLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("RSA-PSS salt: %w", err)
	}
	// Steps 5-6: H = Hash(0x00*8 || mHash || salt).
	hh := hash.New()
	hh.Write(make([]byte, 8))
	hh.Write(mHash)
	hh.Write(salt)
	H := hh.Sum(nil)
	// Steps 7-8: DB = PS || 0x01 || salt.
	db := make([]byte, emLen-hLen-1)
	db[len(db)-sLen-1] = 0x01
	copy(db[len(db)-sLen:], salt)
	// Steps 9-10: maskedDB = DB xor MGF1(H).
	mgf1XOR(db, hash, H)
	// Step 11: clear the leftmost 8*emLen - emBits bits.
	db[0] &= 0xff >> (8*emLen - emBits)
	// Step 12: EM = maskedDB || H || 0xbc.
	em := append(db, H...)
	return append(em, 0xbc), nil
}

// mgf1XOR XORs out with MGF1(seed) (RFC 8017 §B.2.1).
func mgf1XOR(out []byte, hash crypto.Hash, seed []byte) {
	var counter [4]byte
	done := 0
	for done < len(out) {
		h := hash.New()
		h.Write(seed)
		h.Write(counter[:])
		for _, b := range h.Sum(nil) {
			if done == len(out) {
				break
			}
			out[done] ^= b
			done++
		}
		for i := 3; i >= 0; i-- {
			counter[i]++
			if counter[i] != 0 {
				break
			}
		}
	}
}

// ecdsaASN1 turns CKM_ECDSA's r||s (PKCS#11 v2.40 curr. mech. §2.3.1, two
// integers of equal length) into ECDSA-Sig-Value (RFC 5480 §2.2 / SEC 1).
func ecdsaASN1(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("ECDSA signature of %d bytes", len(raw))
	}
	r := new(big.Int).SetBytes(raw[:len(raw)/2])
	sv := new(big.Int).SetBytes(raw[len(raw)/2:])
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(sv)
	})
	return b.Bytes()
}
