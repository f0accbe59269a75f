package vcard

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
)

// Algorithm identifiers (NIST SP 800-78-4 Table 6-2; SP 800-73-4 Part 1
// Table 5).
const (
	alg3DES    = 0x03
	algRSA1024 = 0x06
	algRSA2048 = 0x07
	algAES128  = 0x08
	algAES192  = 0x0A
	algAES256  = 0x0C
	algECCP256 = 0x11
	algECCP384 = 0x14
)

// Yubico PIN and touch policies and key origins (GET METADATA, GENERATE).
const (
	pinPolicyDefault = 0x00
	pinPolicyNever   = 0x01
	pinPolicyOnce    = 0x02
	pinPolicyAlways  = 0x03
	touchNever       = 0x01
	originGenerated  = 0x01
	originImported   = 0x02
)

const refMgmt = 0x9B

var mgmtKeyLen = map[byte]int{alg3DES: 24, algAES128: 16, algAES192: 24, algAES256: 32}

// DefaultManagementKey is the well-known PIV management key (YubiKey's
// factory key, 3DES before firmware 5.7, AES-192 since). This card uses it
// as 3DES unless told otherwise, for Debian 12's yubico-piv-tool 2.2.0.
var DefaultManagementKey = []byte{
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
}

// defaultPINPolicy: the SITHS profile's authentication keys ask for the PIN
// once per session, signing keys every time (like YubiKey's 9C).
func defaultPINPolicy(slot byte) byte {
	switch slot {
	case 0x9C, 0x83:
		return pinPolicyAlways
	case 0x9E:
		return pinPolicyNever
	}
	return pinPolicyOnce
}

func parseKey(k *slotKey) (any, error) {
	key, err := x509.ParsePKCS8PrivateKey(k.PKCS8)
	if err != nil {
		return nil, err
	}
	switch key := key.(type) {
	case *rsa.PrivateKey:
		if k.Alg != algRSA2048 || key.N.BitLen() != 2048 {
			return nil, errors.New("RSA key does not match its algorithm")
		}
	case *ecdsa.PrivateKey:
		if k.Alg != algECCP256 || key.Curve != elliptic.P256() {
			return nil, errors.New("EC key does not match its algorithm")
		}
	default:
		return nil, errors.New("unsupported key type")
	}
	return key, nil
}

func (c *Card) slotKey(slot byte) (*slotKey, any, bool) {
	k, ok := c.st.Keys[describeSlot(slot)]
	if !ok {
		return nil, nil, false
	}
	if parsed, ok := c.keys[describeSlot(slot)]; ok {
		return k, parsed, true
	}
	parsed, err := parseKey(k)
	if err != nil {
		return nil, nil, false
	}
	c.keys[describeSlot(slot)] = parsed
	return k, parsed, true
}

// publicKeyTemplate is the content of the 7F49 template (Part 2 Table 10):
// 81 modulus, 82 exponent; or 86 the uncompressed EC point.
func publicKeyTemplate(key any) []byte {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		v := tlv(0x81, k.N.Bytes())
		return append(v, tlv(0x82, big.NewInt(int64(k.E)).Bytes())...)
	case *ecdsa.PrivateKey:
		pk, err := k.PublicKey.ECDH()
		if err != nil {
			return nil
		}
		return tlv(0x86, pk.Bytes())
	}
	return nil
}

func (c *Card) mgmtBlock() (cipher.Block, error) {
	if c.st.MgmtAlg == alg3DES {
		return des.NewTripleDESCipher(c.st.MgmtKey)
	}
	return aes.NewCipher(c.st.MgmtKey)
}

// generalAuthenticate is GENERAL AUTHENTICATE (Part 2 §3.2.4) with the
// dynamic authentication template 7C: management-key authentication (key
// 9B; witness 80, challenge 81, response 82) and private-key operations
// (81 challenge → 82 response; 85 peer point for ECDH).
func (c *Card) generalAuthenticate(cmd command) ([]byte, int, bool) {
	tag, inner, rest, err := readTLV(cmd.data)
	if err != nil || tag != 0x7C || len(rest) != 0 {
		return nil, swIncorrectData, false
	}
	items, err := parseTLVList(inner)
	if err != nil {
		return nil, swIncorrectData, false
	}
	if cmd.p2 == refMgmt {
		data, code := c.mgmtAuth(cmd.p1, items)
		return data, code, false
	}
	if !isKeySlot(cmd.p2) || cmd.p2 == 0xF9 {
		return nil, swRefNotFound, false
	}
	k, key, ok := c.slotKey(cmd.p2)
	if !ok {
		return nil, swRefNotFound, false
	}
	if cmd.p1 != k.Alg {
		return nil, swIncorrectP1P2, false
	}
	if len(items) != 2 {
		return nil, swIncorrectData, false
	}
	m := map[int][]byte{}
	for _, it := range items {
		m[it.tag] = it.value
	}
	resp, hasResp := m[0x82]
	if !hasResp || len(resp) != 0 {
		return nil, swIncorrectData, false
	}
	// Security status by PIN policy (Yubico): "always" needs a VERIFY
	// since the last use of such a key.
	switch k.PINPolicy {
	case pinPolicyNever:
	case pinPolicyAlways:
		if !c.pinFresh {
			return nil, swSecurityStatus, false
		}
	default:
		if !c.pinVerified {
			return nil, swSecurityStatus, false
		}
	}
	var out []byte
	switch key := key.(type) {
	case *rsa.PrivateKey:
		in, ok := m[0x81]
		if !ok || len(in) != key.Size() {
			return nil, swIncorrectData, false
		}
		out = rawRSA(key, in)
		if out == nil {
			return nil, swIncorrectData, false
		}
	case *ecdsa.PrivateKey:
		if in, ok := m[0x81]; ok {
			// The host hashes; the card signs the digest, left-truncated to
			// the order's size by the caller (piv-go, OpenSC).
			if len(in) == 0 || len(in) > 32 {
				return nil, swIncorrectData, false
			}
			sig, err := ecdsa.SignASN1(c.rand, key, in)
			if err != nil {
				return nil, swNoPreciseDiagnosis, false
			}
			out = sig
		} else if peer, ok := m[0x85]; ok {
			priv, err := key.ECDH()
			if err != nil {
				return nil, swNoPreciseDiagnosis, false
			}
			pub, err := ecdh.P256().NewPublicKey(peer)
			if err != nil {
				return nil, swIncorrectData, false
			}
			if out, err = priv.ECDH(pub); err != nil {
				return nil, swIncorrectData, false
			}
		} else {
			return nil, swIncorrectData, false
		}
	}
	// Any private-key operation uses up a fresh VERIFY: "always" means a
	// VERIFY immediately before this key's operation, not one from before
	// some other key's.
	c.pinFresh = false
	return tlv(0x7C, tlv(0x82, out)), swOK, true
}

// rawRSA is the RSA private-key primitive on a host-padded block (RFC 8017
// §5.1.2 RSADP / §5.2.1 RSASP1): both PKCS#1 v1.5 and PSS are padded by the
// host. The result is checked with the public key (fault attack guard).
func rawRSA(key *rsa.PrivateKey, in []byte) []byte {
	m := new(big.Int).SetBytes(in)
	if m.Cmp(key.N) >= 0 {
		return nil
	}
	var s *big.Int
	if len(key.Primes) == 2 && key.Precomputed.Dp != nil {
		p, q := key.Primes[0], key.Primes[1]
		m1 := new(big.Int).Exp(m, key.Precomputed.Dp, p)
		m2 := new(big.Int).Exp(m, key.Precomputed.Dq, q)
		h := new(big.Int).Sub(m1, m2)
		h.Mul(h, key.Precomputed.Qinv)
		h.Mod(h, p)
		s = h.Mul(h, q).Add(h, m2)
	} else {
		s = new(big.Int).Exp(m, key.D, key.N)
	}
	if new(big.Int).Exp(s, big.NewInt(int64(key.E)), key.N).Cmp(m) != 0 {
		return nil
	}
	return s.FillBytes(make([]byte, key.Size()))
}

func (c *Card) mgmtAuth(alg byte, items []tlvItem) ([]byte, int) {
	if alg != c.st.MgmtAlg {
		return nil, swIncorrectP1P2
	}
	block, err := c.mgmtBlock()
	if err != nil {
		return nil, swNoPreciseDiagnosis
	}
	bs := block.BlockSize()
	get := func(tag int) ([]byte, bool) {
		for _, it := range items {
			if it.tag == tag {
				return it.value, true
			}
		}
		return nil, false
	}
	w, hasW := get(0x80)
	ch, hasC := get(0x81)
	r, hasR := get(0x82)
	switch {
	case hasW && len(w) == 0 && len(items) == 1:
		// Step 1 of mutual authentication: the card's encrypted witness.
		c.mgmtAuthed, c.challenge = false, nil
		c.witness = make([]byte, bs)
		if _, err := io.ReadFull(c.rand, c.witness); err != nil {
			return nil, swNoPreciseDiagnosis
		}
		enc := make([]byte, bs)
		block.Encrypt(enc, c.witness)
		return tlv(0x7C, tlv(0x80, enc)), swOK
	case hasW && hasC && len(items) == 2:
		// Step 2: the host proves it decrypted the witness and challenges
		// the card in turn.
		want := c.witness
		c.witness = nil
		if want == nil {
			return nil, swConditionsNotMet
		}
		if len(w) != bs || len(ch) != bs || subtle.ConstantTimeCompare(w, want) != 1 {
			return nil, swSecurityStatus
		}
		c.mgmtAuthed = true
		enc := make([]byte, bs)
		block.Encrypt(enc, ch)
		return tlv(0x7C, tlv(0x82, enc)), swOK
	case hasC && len(ch) == 0 && len(items) == 1:
		// External authentication, step 1: a challenge for the host.
		c.mgmtAuthed, c.witness = false, nil
		c.challenge = make([]byte, bs)
		if _, err := io.ReadFull(c.rand, c.challenge); err != nil {
			return nil, swNoPreciseDiagnosis
		}
		return tlv(0x7C, tlv(0x81, c.challenge)), swOK
	case hasR && len(items) == 1:
		ch := c.challenge
		c.challenge = nil
		if ch == nil {
			return nil, swConditionsNotMet
		}
		want := make([]byte, bs)
		block.Encrypt(want, ch)
		if len(r) != bs || subtle.ConstantTimeCompare(r, want) != 1 {
			return nil, swSecurityStatus
		}
		c.mgmtAuthed = true
		return nil, swOK
	}
	return nil, swIncorrectData
}
