package vcard

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"encoding/binary"
)

// More ISO/IEC 7816-4 status words the IDPrime kind answers.
const (
	swFuncNotSupported = 0x6A81
	swLcInconsistent   = 0x6A87
	swNoCurrentEF      = 0x6986
	swWrongOffset      = 0x6B00
)

// IDPrime algorithm references in MSE SET (OpenSC card-idprime.c
// idprime_set_security_env).
const (
	idpAlgRawPKCS1 = 0x02 // PKCS#1 v1.5 padding by the card over a DigestInfo from the host
	idpAlgSHA256   = 0x42 // PKCS#1 v1.5 over a bare hash
	idpAlgSHA384   = 0x52
	idpAlgSHA512   = 0x62
	idpAlgPSS256   = 0x45 // PSS, MGF1 with the same hash, salt = hash length
	idpAlgPSS384   = 0x55
	idpAlgPSS512   = 0x65
)

// idpAlgHash is the hash an algorithm reference signs; 0 for a DigestInfo.
var idpAlgHash = map[byte]crypto.Hash{
	idpAlgRawPKCS1: 0,
	idpAlgSHA256:   crypto.SHA256, idpAlgSHA384: crypto.SHA384, idpAlgSHA512: crypto.SHA512,
	idpAlgPSS256: crypto.SHA256, idpAlgPSS384: crypto.SHA384, idpAlgPSS512: crypto.SHA512,
}

func idpAlgPSS(alg byte) bool { return alg&0x0F == 0x05 }

// idpApplet is an IDPrime card's file system (built from the state at
// Load) and its volatile session.
type idpApplet struct {
	files map[uint16][]byte
	keys  map[byte]*idpLoadedKey // by key reference

	// Volatile: lost on power-off and reset.
	ef                      int // selected EF, -1 none
	pinVerified, signPINVer bool
	mseSet                  bool
	mseAlg, mseKeyRef       byte
	hash                    []byte // from PSO HASH, for the next PSO CDS
}

type idpLoadedKey struct {
	*idpKey
	priv *rsa.PrivateKey
}

func newIDPApplet(st *state) (*idpApplet, error) {
	files, err := buildIDPFiles(st)
	if err != nil {
		return nil, err
	}
	a := &idpApplet{files: files, keys: map[byte]*idpLoadedKey{}, ef: -1}
	for _, k := range st.IDPrime.Keys {
		priv, err := parseIDPKey(k)
		if err != nil {
			return nil, err
		}
		priv.Precompute()
		a.keys[k.keyRef()] = &idpLoadedKey{k, priv}
	}
	return a, nil
}

func (a *idpApplet) clearSession() {
	a.ef = -1
	a.pinVerified, a.signPINVer = false, false
	a.clearMSE()
}

func (a *idpApplet) clearMSE() {
	a.mseSet, a.mseAlg, a.mseKeyRef = false, 0, 0
	clear(a.hash)
	a.hash = nil
}

// idpTransmit is Transmit for the IDPrime kind; c.mu is held.
func (c *Card) idpTransmit(capdu []byte) ([]byte, opKind) {
	a := c.idp
	cmd, ok := parseAPDU(capdu)
	// Short APDUs only (FIELD-NOTES: OpenSC's idprime driver sends no
	// extended ones; neither does the contract).
	if !ok || cmd.extended {
		c.pending = nil
		return sw(swWrongLength), opOther
	}
	if cmd.cla != 0x00 { // no chaining, secure messaging or logical channels
		c.pending = nil
		return sw(swCLANotSupported), opOther
	}
	if cmd.ins == 0xC0 { // GET RESPONSE
		if cmd.p1 != 0 || cmd.p2 != 0 {
			c.pending = nil
			return sw(swIncorrectP1P2), opOther
		}
		if c.pending == nil {
			return sw(swConditionsNotMet), opOther
		}
		data := c.pending
		c.pending = nil
		return c.respond(data, cmd.ne, swOK), opOther
	}
	c.pending = nil

	var data []byte
	code := swOK
	kind := opOther
	switch cmd.ins {
	case 0xA4:
		data, code = a.selectFile(cmd)
	case 0xB0:
		data, code = a.readBinary(cmd)
	case 0xCA:
		data, code = c.idpGetData(cmd)
	case 0x20:
		code = c.idpVerify(cmd)
		if len(cmd.data) > 0 {
			kind = opVerify
			c.verifies.Add(1)
		}
	case 0x24:
		code = c.idpChange(cmd)
	case 0x2C:
		code = c.idpUnblock(cmd)
	case 0x22:
		code = a.mse(cmd)
	case 0x2A:
		var signed bool
		data, code, signed = c.idpPSO(cmd)
		if signed {
			kind = opSign
			c.signatures.Add(1)
		}
	default:
		code = swINSNotSupported
	}
	if code != swOK {
		data = nil
	}
	return c.respond(data, cmd.ne, code), kind
}

// selectFile is SELECT: the applet by AID (P1 04), or an EF by its file
// identifier (P1 08 as in the contract, P1 00 as OpenSC selects a path of
// type FILE_ID). P2 00 answers the FCI, 0C nothing.
func (a *idpApplet) selectFile(cmd command) ([]byte, int) {
	if cmd.p2 != 0x00 && cmd.p2 != 0x0C {
		return nil, swIncorrectP1P2
	}
	switch cmd.p1 {
	case 0x04:
		if !bytes.Equal(cmd.data, idprimeAID) {
			return nil, swFileNotFound // the selection stays as it was
		}
		// The applet is the card's only (and default) application:
		// selecting it again keeps the security status.
		a.ef = -1
		return nil, swOK
	case 0x00, 0x08:
		if len(cmd.data) != 2 {
			return nil, swLcInconsistent
		}
		fid := binary.BigEndian.Uint16(cmd.data)
		content, ok := a.files[fid]
		if !ok {
			return nil, swFileNotFound // 2F00, 5015, 5031, … (FIELD-NOTES "Serial / bind")
		}
		a.ef = int(fid)
		if cmd.p2 == 0x0C {
			return nil, swOK
		}
		// FCI: 80 size (OpenSC takes the file size from it and reads
		// exactly that much), 82 transparent EF, 83 file identifier.
		body := tlv(0x80, []byte{byte(len(content) >> 8), byte(len(content))})
		body = append(body, tlv(0x82, []byte{0x01})...)
		body = append(body, tlv(0x83, cmd.data)...)
		return tlv(0x6F, body), swOK
	}
	return nil, swIncorrectP1P2
}

// readBinary is READ BINARY of the selected EF at offset P1 P2 (no short
// EF identifiers): up to Le bytes (00 = 256); 6B00 at or past the end.
func (a *idpApplet) readBinary(cmd command) ([]byte, int) {
	if cmd.p1&0x80 != 0 {
		return nil, swIncorrectP1P2
	}
	if len(cmd.data) != 0 {
		return nil, swWrongLength
	}
	if a.ef < 0 {
		return nil, swNoCurrentEF
	}
	content := a.files[uint16(a.ef)]
	off := int(cmd.p1)<<8 | int(cmd.p2)
	if off >= len(content) {
		return nil, swWrongOffset
	}
	end := min(len(content), off+cmd.ne)
	return append([]byte(nil), content[off:end]...), swOK
}

// idpGetData is GET DATA of the CPLC (9F7F) and the applet version (DF30).
func (c *Card) idpGetData(cmd command) ([]byte, int) {
	switch uint16(cmd.p1)<<8 | uint16(cmd.p2) {
	case 0x9F7F:
		return idprimeCPLC(c.st.IDPrime.CardID), swOK
	case 0xDF30:
		return tlv(0xDF30, []byte(idprimeAppletVersion)), swOK
	}
	return nil, swIncorrectP1P2
}

// idpPIN resolves a PIN reference to its record and session flag; nil when
// the card has no such PIN.
func (c *Card) idpPIN(ref byte) (*refData, *bool) {
	switch ref {
	case refIDPPIN:
		return &c.st.PIN, &c.idp.pinVerified
	case refIDPSignPIN:
		if c.st.SignPIN != nil {
			return c.st.SignPIN, &c.idp.signPINVer
		}
	}
	return nil, nil
}

// idpVerify is VERIFY: with no data it reads the tries (63Cx, 9000 when
// verified in this session, 6983 blocked); with 16 bytes it checks the PIN.
// Reference 12 reads the PUK's tries only (not public: chosen).
func (c *Card) idpVerify(cmd command) int {
	if cmd.p1 != 0x00 {
		return swIncorrectP1P2
	}
	if cmd.p2 == refIDPPUK {
		if len(cmd.data) != 0 {
			return swSecurityStatus // the PUK is only ever spent by RESET RETRY COUNTER
		}
		if c.st.PUK.Tries == 0 {
			return swBlocked
		}
		return swVerifyFail | c.st.PUK.Tries
	}
	r, verified := c.idpPIN(cmd.p2)
	if r == nil {
		return swRefNotFound
	}
	if len(cmd.data) == 0 {
		switch {
		case r.Tries == 0:
			return swBlocked
		case *verified:
			return swOK
		}
		return swVerifyFail | r.Tries
	}
	if len(cmd.data) != 16 {
		return swWrongLength
	}
	*verified = false
	code := c.checkRef(r, cmd.data)
	*verified = code == swOK
	return code
}

// idpChange is CHANGE REFERENCE DATA: old and new PIN, 16 bytes each. A
// new PIN of the wrong form is refused before any try is spent.
func (c *Card) idpChange(cmd command) int {
	r, verified, old, nw, code := c.idpPINPair(cmd)
	if code != swOK {
		return code
	}
	if code := c.checkRef(r, old); code != swOK {
		return code
	}
	if code := c.replaceRef(r, nw, false); code != swOK {
		return code
	}
	*verified = true
	return swOK
}

// idpUnblock is RESET RETRY COUNTER with the PUK and a new PIN (P1 00):
// a right PUK sets the PIN and gives it all its tries back.
func (c *Card) idpUnblock(cmd command) int {
	r, _, puk, nw, code := c.idpPINPair(cmd)
	if code != swOK {
		return code
	}
	if code := c.checkRef(&c.st.PUK, puk); code != swOK {
		return code
	}
	return c.replaceRef(r, nw, true)
}

// idpPINPair parses the command of CHANGE REFERENCE DATA and of RESET
// RETRY COUNTER: P1 00, P2 a PIN's reference, 32 bytes (the old PIN or
// the PUK, then the new PIN, each padded with 00 to 16). It returns the
// PIN's record and session flag and the two blocks, or the status word
// that refuses the command; a command it accepts ends the PIN's
// verification in this session, whatever the card then says of it.
func (c *Card) idpPINPair(cmd command) (r *refData, verified *bool, first, nw []byte, code int) {
	if cmd.p1 != 0x00 {
		return nil, nil, nil, nil, swIncorrectP1P2
	}
	r, verified = c.idpPIN(cmd.p2)
	if r == nil {
		return nil, nil, nil, nil, swRefNotFound
	}
	if len(cmd.data) != 32 {
		return nil, nil, nil, nil, swWrongLength
	}
	first, nw = cmd.data[:16], cmd.data[16:]
	if !validIDPPIN(nw) {
		return nil, nil, nil, nil, swIncorrectData
	}
	*verified = false
	return r, verified, first, nw, swOK
}

// mse is MANAGE SECURITY ENVIRONMENT SET for signing (41 B6): 80 algorithm
// reference, 84 key reference. Deciphering (41 B8) is not implemented.
func (a *idpApplet) mse(cmd command) int {
	a.clearMSE()
	if cmd.p1 != 0x41 {
		return swIncorrectP1P2
	}
	switch cmd.p2 {
	case 0xB6:
	case 0xB8:
		return swFuncNotSupported
	default:
		return swIncorrectP1P2
	}
	items, err := parseTLVList(cmd.data)
	if err != nil {
		return swIncorrectData
	}
	var alg, ref []byte
	for _, it := range items {
		switch it.tag {
		case 0x80:
			alg = it.value
		case 0x84:
			ref = it.value
		default:
			return swIncorrectData
		}
	}
	if len(alg) != 1 || len(ref) != 1 {
		return swIncorrectData
	}
	if _, ok := idpAlgHash[alg[0]]; !ok {
		return swIncorrectData
	}
	if _, ok := a.keys[ref[0]]; !ok {
		return swRefNotFound
	}
	a.mseSet, a.mseAlg, a.mseKeyRef = true, alg[0], ref[0]
	return swOK
}

// idpPSO is PERFORM SECURITY OPERATION: HASH (90 A0, data 90 L hash; the
// card echoes the hash, which OpenSC checks) then COMPUTE DIGITAL
// SIGNATURE (9E 9A). Decipher (80 86) is not implemented.
func (c *Card) idpPSO(cmd command) ([]byte, int, bool) {
	a := c.idp
	switch uint16(cmd.p1)<<8 | uint16(cmd.p2) {
	case 0x90A0:
		clear(a.hash)
		a.hash = nil
		if !a.mseSet {
			return nil, swConditionsNotMet, false
		}
		tag, v, rest, err := readTLV(cmd.data)
		if err != nil || tag != 0x90 || len(rest) != 0 || len(v) == 0 {
			return nil, swIncorrectData, false
		}
		if h := idpAlgHash[a.mseAlg]; h != 0 && len(v) != h.Size() {
			return nil, swIncorrectData, false
		}
		if h := idpAlgHash[a.mseAlg]; h == 0 && len(v) > 256-11 {
			return nil, swIncorrectData, false
		}
		a.hash = append([]byte(nil), v...)
		return append([]byte(nil), v...), swOK, false
	case 0x9E9A:
		if len(cmd.data) != 0 {
			return nil, swIncorrectData, false
		}
		if !a.mseSet || a.hash == nil {
			return nil, swConditionsNotMet, false
		}
		k := a.keys[a.mseKeyRef]
		_, verified := c.idpPIN(k.PINRef)
		if verified == nil || !*verified {
			return nil, swSecurityStatus, false
		}
		in := a.hash
		a.hash = nil
		defer clear(in)
		h := idpAlgHash[a.mseAlg]
		var sig []byte
		var err error
		if idpAlgPSS(a.mseAlg) {
			sig, err = rsa.SignPSS(c.rand, k.priv, h, in, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(nil, k.priv, h, in)
		}
		if err != nil {
			return nil, swIncorrectData, false
		}
		return sig, swOK, true
	case 0x8086:
		return nil, swFuncNotSupported, false
	}
	return nil, swIncorrectP1P2, false
}
