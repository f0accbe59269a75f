package piv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Signing with the key in a slot: GENERAL AUTHENTICATE (SP 800-73-4 Part 2
// section 3.2.4, the signature case of Appendix A.4). The card computes raw
// RSA or ECDSA over what it is given; the RSA encodings (PKCS#1 v1.5 and
// PSS, RFC 8017 sections 9.1 and 9.2) are made here on the host.

// Algorithm identifiers (SP 800-78-4 Table 6-2; 3072 and 4096 are Yubico's
// additions in firmware 5.7).
const (
	algRSA1024 = 0x06
	algRSA2048 = 0x07
	algRSA3072 = 0x05
	algRSA4096 = 0x16
	algECCP256 = 0x11
	algECCP384 = 0x14
)

// keyAlgorithm is the PIV algorithm of pub, or false when the card cannot
// hold such a key.
func keyAlgorithm(pub crypto.PublicKey) (byte, bool) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 1024:
			return algRSA1024, true
		case 2048:
			return algRSA2048, true
		case 3072:
			return algRSA3072, true
		case 4096:
			return algRSA4096, true
		}
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return algECCP256, true
		case 384:
			return algECCP384, true
		}
	}
	return 0, false
}

// signInput is what the card is to sign for digest under opts: the
// encoded message for RSA, of the modulus' length; the digest for ECDSA,
// cut to the order's length as ECDSA takes it (FIPS 186-4 section 6.4).
func signInput(rnd io.Reader, pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		return digest[:min(len(digest), n)], nil
	case *rsa.PublicKey:
		hash := opts.HashFunc()
		if hash != 0 && hash.Size() != len(digest) {
			return nil, fmt.Errorf("digest of %d bytes for %v", len(digest), hash)
		}
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			if hash == 0 {
				return nil, errors.New("PSS without a hash")
			}
			return emsaPSS(rnd, k, hash, digest, pss.SaltLength)
		}
		return emsaPKCS1v15(k, hash, digest)
	}
	return nil, fmt.Errorf("key type %T", pub)
}

// digestInfoPrefixes are the DER of DigestInfo before the digest (RFC 8017
// section 9.2, note 1). MD5SHA1 (TLS 1.0 and 1.1) and no hash sign the
// bare input.
var digestInfoPrefixes = map[crypto.Hash][]byte{
	crypto.SHA1:    {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224:  {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256:  {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384:  {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512:  {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
	crypto.MD5SHA1: {},
	0:              {},
}

// emsaPKCS1v15 is EMSA-PKCS1-v1_5 (RFC 8017 section 9.2): 00 01 FF…FF 00
// DigestInfo, as long as the modulus.
func emsaPKCS1v15(pub *rsa.PublicKey, hash crypto.Hash, digest []byte) ([]byte, error) {
	prefix, ok := digestInfoPrefixes[hash]
	if !ok {
		return nil, fmt.Errorf("PKCS#1 v1.5 with %v: unsupported hash", hash)
	}
	k := pub.Size()
	tLen := len(prefix) + len(digest)
	if k < tLen+11 {
		return nil, rsa.ErrMessageTooLong
	}
	em := make([]byte, k)
	em[1] = 0x01
	for i := 2; i < k-tLen-1; i++ {
		em[i] = 0xFF
	}
	copy(em[k-tLen:], prefix)
	copy(em[k-len(digest):], digest)
	return em, nil
}

// emsaPSS is EMSA-PSS-ENCODE (RFC 8017 section 9.1.1) with MGF1 over hash,
// for a modulus of modBits bits: emBits = modBits-1. saltLen follows
// crypto/rsa: PSSSaltLengthAuto is the longest salt that fits,
// PSSSaltLengthEqualsHash the hash's length. The result is as long as the
// modulus (a leading zero when emBits is a multiple of 8).
func emsaPSS(rnd io.Reader, pub *rsa.PublicKey, hash crypto.Hash, mHash []byte, saltLen int) ([]byte, error) {
	hLen := hash.Size()
	emBits := pub.N.BitLen() - 1
	emLen := (emBits + 7) / 8
	switch saltLen {
	case rsa.PSSSaltLengthAuto:
		saltLen = emLen - hLen - 2
	case rsa.PSSSaltLengthEqualsHash:
		saltLen = hLen
	}
	if saltLen < 0 || emLen < hLen+saltLen+2 {
		return nil, errors.New("PSS: salt too long for the key")
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return nil, fmt.Errorf("PSS salt: %w", err)
	}
	// Step 5–6: H = Hash(00×8 || mHash || salt).
	h := hash.New()
	h.Write(make([]byte, 8))
	h.Write(mHash)
	h.Write(salt)
	hv := h.Sum(nil)
	// Step 7–8: DB = PS || 01 || salt, as long as emLen - hLen - 1.
	out := make([]byte, pub.Size())
	em := out[len(out)-emLen:]
	db := em[:emLen-hLen-1]
	db[len(db)-saltLen-1] = 0x01
	copy(db[len(db)-saltLen:], salt)
	// Step 9–10: maskedDB = DB xor MGF1(H, len(DB)).
	subtle.XORBytes(db, db, mgf1(hash, hv, len(db)))
	// Step 11: clear the leftmost 8·emLen − emBits bits.
	db[0] &= 0xFF >> (8*emLen - emBits)
	// Step 12: EM = maskedDB || H || BC.
	copy(em[len(db):], hv)
	em[emLen-1] = 0xBC
	return out, nil
}

// mgf1 is MGF1 (RFC 8017 appendix B.2.1).
func mgf1(hash crypto.Hash, seed []byte, n int) []byte {
	var out []byte
	var counter [4]byte
	for i := uint32(0); len(out) < n; i++ {
		binary.BigEndian.PutUint32(counter[:], i)
		h := hash.New()
		h.Write(seed)
		h.Write(counter[:])
		out = h.Sum(out)
	}
	return out[:n]
}

// sign has the card sign input with the key in slot: GENERAL AUTHENTICATE
// with 7C { 82 (empty: the response wanted), 81 challenge }, answered
// 7C { 82 signature } (SP 800-73-4 Part 2 Appendix A.4). ECDSA signatures
// come as DER already.
func (s *session) sign(alg, slot byte, input []byte) ([]byte, error) {
	challenge := append([]byte{0x82, 0x00}, berTLV(0x81, input)...)
	resp, err := s.do(0x00, insGeneralAuth, alg, slot, berTLV(0x7C, challenge))
	if err != nil {
		return nil, err
	}
	sig, ok := dynamicAuthItem(resp, 0x82, -1)
	if !ok || len(sig) == 0 {
		return nil, errors.New("GENERAL AUTHENTICATE: malformed answer")
	}
	return sig, nil
}

// berTLV encodes one TLV with a one-byte tag (ISO/IEC 7816-4 section
// 5.2.2: lengths of one, two or three bytes).
func berTLV(tag byte, value []byte) []byte {
	n := len(value)
	var out []byte
	switch {
	case n < 0x80:
		out = []byte{tag, byte(n)}
	case n < 0x100:
		out = []byte{tag, 0x81, byte(n)}
	default:
		out = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return append(out, value...)
}
