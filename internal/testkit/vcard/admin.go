package vcard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
)

// generateKey is GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 Part 2 §3.3.2):
// template AC { 80 algorithm [AA PIN policy] [AB touch policy] }; it needs
// the management key and answers the public key in 7F49.
func (c *Card) generateKey(cmd command) ([]byte, int) {
	if cmd.p1 != 0x00 {
		return nil, swIncorrectP1P2
	}
	if !isKeySlot(cmd.p2) || cmd.p2 == 0xF9 {
		return nil, swIncorrectP1P2
	}
	if !c.mgmtAuthed {
		return nil, swSecurityStatus
	}
	tag, inner, rest, err := readTLV(cmd.data)
	if err != nil || tag != 0xAC || len(rest) != 0 {
		return nil, swIncorrectData
	}
	m, err := parseTLVs(inner)
	if err != nil {
		return nil, swIncorrectData
	}
	alg, ok := m[0x80]
	if !ok || len(alg) != 1 {
		return nil, swIncorrectData
	}
	pp, tp, code := policies(cmd.p2, m)
	if code != swOK {
		return nil, code
	}
	var key any
	switch alg[0] {
	case algRSA2048:
		key, err = rsa.GenerateKey(c.rand, 2048)
	case algECCP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), c.rand)
	default:
		return nil, swIncorrectData
	}
	if err != nil {
		return nil, swNoPreciseDiagnosis
	}
	if code := c.storeKey(cmd.p2, alg[0], key, pp, tp, originGenerated); code != swOK {
		return nil, code
	}
	return tlv(0x7F49, publicKeyTemplate(key)), swOK
}

// policies reads AA (PIN policy) and AB (touch policy); 00 means the slot's
// default. Only touch policy "never" exists on a virtual card.
func policies(slot byte, m map[int][]byte) (pp, tp byte, code int) {
	pp, tp = defaultPINPolicy(slot), touchNever
	if v, ok := m[0xAA]; ok {
		if len(v) != 1 || v[0] > pinPolicyAlways {
			return 0, 0, swIncorrectData
		}
		if v[0] != pinPolicyDefault {
			pp = v[0]
		}
	}
	if v, ok := m[0xAB]; ok {
		if len(v) != 1 || v[0] > touchNever {
			return 0, 0, swIncorrectData
		}
	}
	return pp, tp, swOK
}

func (c *Card) storeKey(slot, alg byte, key any, pp, tp, origin byte) int {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return swNoPreciseDiagnosis
	}
	name := describeSlot(slot)
	old, had := c.st.Keys[name]
	c.st.Keys[name] = &slotKey{Alg: alg, PKCS8: der, PINPolicy: pp, TouchPolicy: tp, Origin: origin}
	if err := c.save(); err != nil {
		if had {
			c.st.Keys[name] = old
		} else {
			delete(c.st.Keys, name)
		}
		return swMemoryFailure
	}
	c.keys[name] = key
	return swOK
}

// importKey is Yubico's IMPORT ASYMMETRIC KEY (INS FE): P1 algorithm, P2
// slot; RSA as CRT components 01 p, 02 q, 03 dP, 04 dQ, 05 qInv; EC as 06
// the private scalar; optional AA/AB policies. Needs the management key.
func (c *Card) importKey(cmd command) int {
	if !isKeySlot(cmd.p2) || cmd.p2 == 0xF9 {
		return swIncorrectP1P2
	}
	if !c.mgmtAuthed {
		return swSecurityStatus
	}
	m, err := parseTLVs(cmd.data)
	if err != nil {
		return swIncorrectData
	}
	pp, tp, code := policies(cmd.p2, m)
	if code != swOK {
		return code
	}
	var key any
	switch cmd.p1 {
	case algRSA2048:
		p, q := new(big.Int).SetBytes(m[0x01]), new(big.Int).SetBytes(m[0x02])
		if p.Sign() == 0 || q.Sign() == 0 {
			return swIncorrectData
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != 2048 {
			return swIncorrectData
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, big.NewInt(1)), new(big.Int).Sub(q, big.NewInt(1)))
		e := big.NewInt(65537)
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			return swIncorrectData
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		if k.Validate() != nil {
			return swIncorrectData
		}
		k.Precompute()
		key = k
	case algECCP256:
		s := m[0x06]
		if len(s) != 32 {
			return swIncorrectData
		}
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), s)
		if err != nil {
			return swIncorrectData
		}
		key = k
	default:
		return swIncorrectP1P2
	}
	return c.storeKey(cmd.p2, cmd.p1, key, pp, tp, originImported)
}

// metadata is Yubico's GET METADATA (INS F7, firmware 5.3+): 01 algorithm,
// 02 policies, 03 origin, 04 public key, 05 default value, 06 tries.
func (c *Card) metadata(cmd command) ([]byte, int) {
	if cmd.p1 != 0x00 {
		return nil, swIncorrectP1P2
	}
	switch cmd.p2 {
	case refPIN, refPUK:
		r := &c.st.PIN
		if cmd.p2 == refPUK {
			r = &c.st.PUK
		}
		v := tlv(0x01, []byte{0xFF})
		v = append(v, tlv(0x05, []byte{boolByte(r.Default)})...)
		return append(v, tlv(0x06, []byte{byte(r.Max), byte(r.Tries)})...), swOK
	case refMgmt:
		v := tlv(0x01, []byte{c.st.MgmtAlg})
		v = append(v, tlv(0x02, []byte{pinPolicyDefault, touchNever})...)
		return append(v, tlv(0x05, []byte{boolByte(c.st.MgmtDefault)})...), swOK
	}
	if !isKeySlot(cmd.p2) {
		return nil, swRefNotFound
	}
	k, key, ok := c.slotKey(cmd.p2)
	if !ok {
		return nil, swRefNotFound
	}
	v := tlv(0x01, []byte{k.Alg})
	v = append(v, tlv(0x02, []byte{k.PINPolicy, k.TouchPolicy})...)
	v = append(v, tlv(0x03, []byte{k.Origin})...)
	return append(v, tlv(0x04, publicKeyTemplate(key))...), swOK
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// setManagementKey is Yubico's SET MANAGEMENT KEY (INS FF, P1 FF, P2 FF or
// FE for touch): data algorithm, 9B, length, key. Needs the current key.
func (c *Card) setManagementKey(cmd command) int {
	if cmd.p1 != 0xFF || (cmd.p2 != 0xFF && cmd.p2 != 0xFE) {
		return swIncorrectP1P2
	}
	if !c.mgmtAuthed {
		return swSecurityStatus
	}
	d := cmd.data
	if len(d) < 3 || d[1] != refMgmt || int(d[2]) != len(d)-3 {
		return swIncorrectData
	}
	if n, ok := mgmtKeyLen[d[0]]; !ok || n != len(d)-3 {
		return swIncorrectData
	}
	oldAlg, oldKey, oldDef := c.st.MgmtAlg, c.st.MgmtKey, c.st.MgmtDefault
	c.st.MgmtAlg, c.st.MgmtKey = d[0], append([]byte(nil), d[3:]...)
	c.st.MgmtDefault = string(c.st.MgmtKey) == string(DefaultManagementKey)
	if err := c.save(); err != nil {
		c.st.MgmtAlg, c.st.MgmtKey, c.st.MgmtDefault = oldAlg, oldKey, oldDef
		return swMemoryFailure
	}
	return swOK
}

// factoryReset is Yubico's RESET (INS FB): allowed only when both PIN and
// PUK are blocked; erases keys and objects and restores the default PIN,
// PUK and management key (3DES, see setMgmtKey).
func (c *Card) factoryReset(cmd command) int {
	if cmd.p1 != 0 || cmd.p2 != 0 {
		return swIncorrectP1P2
	}
	if c.st.PIN.Tries != 0 || c.st.PUK.Tries != 0 {
		return swConditionsNotMet
	}
	saved := *c.st
	if err := setDefaultRefs(c.st, DefaultTries, DefaultTries); err != nil {
		return swMemoryFailure
	}
	c.st.MgmtAlg, c.st.MgmtKey, c.st.MgmtDefault = alg3DES, append([]byte(nil), DefaultManagementKey...), true
	c.st.Keys, c.st.Objects = map[string]*slotKey{}, map[string][]byte{}
	if err := c.save(); err != nil {
		*c.st = saved
		return swMemoryFailure
	}
	c.keys = map[string]any{}
	c.clearSession()
	return swOK
}
