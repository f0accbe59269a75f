package vcard

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// newCard provisions a card in a temporary directory and loads it. The
// test PKI caches its derived keys, so this is cheap after the first call.
func newCard(t testing.TB, key testpki.KeyType, mgmt string) *Card {
	t.Helper()
	dir := t.TempDir()
	if err := Provision(ProvisionOptions{Dir: dir, Spec: testpki.CardSpec{Key: key}, MgmtKey: mgmt}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// tx sends a C-APDU and splits the answer.
func tx(t testing.TB, c *Card, capdu []byte) ([]byte, int) {
	t.Helper()
	r := c.Transmit(capdu)
	if len(r) < 2 {
		t.Fatalf("R-APDU too short: %x", r)
	}
	return r[:len(r)-2], int(r[len(r)-2])<<8 | int(r[len(r)-1])
}

// apdu builds a short (or, when needed, extended) C-APDU with Le absent.
func apdu(cla, ins, p1, p2 byte, data []byte) []byte {
	b := []byte{cla, ins, p1, p2}
	switch {
	case len(data) == 0:
	case len(data) <= 255:
		b = append(b, byte(len(data)))
		b = append(b, data...)
	default:
		b = append(b, 0, byte(len(data)>>8), byte(len(data)))
		b = append(b, data...)
	}
	return b
}

// full sends a command with chaining for long data and GET RESPONSE for
// long answers, as piv-go does.
func full(t testing.TB, c *Card, ins, p1, p2 byte, data []byte) ([]byte, int) {
	t.Helper()
	for len(data) > 255 {
		_, code := tx(t, c, apdu(0x10, ins, p1, p2, data[:255]))
		if code != swOK {
			return nil, code
		}
		data = data[255:]
	}
	out, code := tx(t, c, apdu(0, ins, p1, p2, data))
	for code&0xFF00 == 0x6100 {
		var more []byte
		more, code = tx(t, c, []byte{0, 0xC0, 0, 0, byte(code)})
		out = append(out, more...)
	}
	return out, code
}

func pinData(s string) []byte { return padRef(s) }

func wantSW(t testing.TB, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("SW %04X, want %04X", got, want)
	}
}

func selectPIV(t testing.TB, c *Card) {
	t.Helper()
	_, code := tx(t, c, apdu(0, 0xA4, 0x04, 0x00, h("A000000308")))
	wantSW(t, code, swOK)
}

func verifyPIN(t testing.TB, c *Card, pin string) int {
	t.Helper()
	_, code := tx(t, c, apdu(0, 0x20, 0, 0x80, pinData(pin)))
	return code
}

// mgmtAuth runs the host side of mutual authentication with key.
func mgmtAuth(t testing.TB, c *Card, alg byte, key []byte) int {
	t.Helper()
	var block cipher.Block
	var err error
	if alg == alg3DES {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	bs := block.BlockSize()
	resp, code := tx(t, c, apdu(0, 0x87, alg, 0x9B, h("7C028000")))
	if code != swOK {
		return code
	}
	if len(resp) != 4+bs || resp[0] != 0x7C || resp[2] != 0x80 || int(resp[3]) != bs {
		t.Fatalf("witness: %x", resp)
	}
	w := make([]byte, bs)
	block.Decrypt(w, resp[4:])
	ch := make([]byte, bs)
	rand.Read(ch)
	data := tlv(0x7C, append(tlv(0x80, w), tlv(0x81, ch)...))
	resp, code = tx(t, c, apdu(0, 0x87, alg, 0x9B, data))
	if code != swOK {
		return code
	}
	want := make([]byte, bs)
	block.Encrypt(want, ch)
	if !bytes.Equal(resp, tlv(0x7C, tlv(0x82, want))) {
		t.Fatalf("card's response to our challenge is wrong: %x", resp)
	}
	return code
}

func getObject(t testing.TB, c *Card, tag int) ([]byte, int) {
	t.Helper()
	tb := []byte{byte(tag >> 16), byte(tag >> 8), byte(tag)}
	if tag <= 0xFF {
		tb = []byte{byte(tag)}
	}
	return full(t, c, 0xCB, 0x3F, 0xFF, tlv(0x5C, tb))
}

func readCert(t testing.TB, c *Card, slot byte) *x509.Certificate {
	t.Helper()
	obj, _ := slotObject(slot)
	resp, code := getObject(t, c, obj)
	wantSW(t, code, swOK)
	tag, v, _, err := readTLV(resp)
	if err != nil || tag != 0x53 {
		t.Fatalf("object: %x", resp)
	}
	m, err := parseTLVs(v)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(m[0x70])
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func sign(t testing.TB, c *Card, slot, alg byte, in []byte) ([]byte, int) {
	t.Helper()
	data := tlv(0x7C, append([]byte{0x82, 0x00}, tlv(0x81, in)...))
	resp, code := full(t, c, 0x87, alg, slot, data)
	if code != swOK {
		return nil, code
	}
	tag, v, _, err := readTLV(resp)
	if err != nil || tag != 0x7C {
		t.Fatalf("GA response %x", resp)
	}
	tag, sig, _, err := readTLV(v)
	if err != nil || tag != 0x82 {
		t.Fatalf("GA response %x", resp)
	}
	return sig, code
}

func pkcs1Block(t testing.TB, digest []byte) []byte {
	prefix := h("3031300d060960864801650304020105000420")
	d := append(prefix, digest...)
	b := []byte{0, 1}
	for len(b) < 256-len(d)-1 {
		b = append(b, 0xFF)
	}
	b = append(b, 0)
	return append(b, d...)
}

func TestSelectVersionSerial(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	resp, code := tx(t, c, apdu(0, 0xA4, 0x04, 0x00, h("A000000308")))
	wantSW(t, code, swOK)
	if !bytes.HasPrefix(resp, h("61")) || !bytes.Contains(resp, h("4F0600001000 0100")) || !bytes.Contains(resp, h("79074F05A000000308")) {
		t.Fatalf("APT: %x", resp)
	}
	resp, code = tx(t, c, h("00FD000000"))
	wantSW(t, code, swOK)
	if len(resp) != 3 || !bytes.Equal(resp, DefaultVersion[:]) {
		t.Fatalf("version %x", resp)
	}
	resp, code = tx(t, c, h("00F8000000"))
	wantSW(t, code, swOK)
	if len(resp) != 4 || c.Serial() == 0 || fmt.Sprintf("%08x", c.Serial()) != hex.EncodeToString(resp) {
		t.Fatalf("serial %x (card says %d)", resp, c.Serial())
	}
	// A SELECT of an unknown AID fails and keeps the PIV application.
	_, code = tx(t, c, apdu(0, 0xA4, 0x04, 0x00, h("A0000000031010")))
	wantSW(t, code, swFileNotFound)
	_, code = tx(t, c, h("00FD000000"))
	wantSW(t, code, swOK)
	// Full AID, P2 0C (no response data).
	resp, code = tx(t, c, apdu(0, 0xA4, 0x04, 0x0C, pivAID))
	wantSW(t, code, swOK)
	if len(resp) != 0 {
		t.Fatalf("P2=0C answered %x", resp)
	}
	_, code = tx(t, c, apdu(0, 0xA4, 0x00, 0x00, h("3F00")))
	wantSW(t, code, swIncorrectP1P2)
}

func TestVerifyAndBlock(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	_, code := tx(t, c, h("0020008000"))
	wantSW(t, code, swVerifyFail|3)
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swVerifyFail|3)
	wantSW(t, verifyPIN(t, c, "000000"), swVerifyFail|2)
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swOK) // verified
	// VERIFY P1=FF resets the security status.
	_, code = tx(t, c, h("0020FF80"))
	wantSW(t, code, swOK)
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swVerifyFail|3)
	// Malformed PINs do not cost a try.
	for _, bad := range [][]byte{h("3132333435FFFFFF"), h("31323334353637"), h("313233343536FF37"), []byte("12345a78")} {
		_, code = tx(t, c, apdu(0, 0x20, 0, 0x80, bad))
		wantSW(t, code, swIncorrectData)
	}
	_, code = tx(t, c, apdu(0, 0x20, 0, 0x81, pinData(DefaultPUK)))
	wantSW(t, code, swRefNotFound)
	_, code = tx(t, c, apdu(0, 0x20, 1, 0x80, pinData(DefaultPIN)))
	wantSW(t, code, swIncorrectP1P2)
	// Three wrong tries block.
	wantSW(t, verifyPIN(t, c, "111111"), swVerifyFail|2)
	wantSW(t, verifyPIN(t, c, "1111111"), swVerifyFail|1)
	wantSW(t, verifyPIN(t, c, "11111111"), swVerifyFail|0)
	wantSW(t, verifyPIN(t, c, DefaultPIN), swBlocked)
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swBlocked)
	if pin, _ := c.PINRetries(); pin != 0 {
		t.Fatalf("tries %d", pin)
	}
	// The block survives a restart.
	c2, err := Load(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	wantSW(t, verifyPIN(t, c2, DefaultPIN), swBlocked)
	// Unblock with the PUK; a wrong PUK costs a PUK try.
	_, code = tx(t, c2, apdu(0, 0x2C, 0, 0x80, append(pinData("87654321"), pinData("654321")...)))
	wantSW(t, code, swVerifyFail|2)
	_, code = tx(t, c2, apdu(0, 0x2C, 0, 0x80, append(pinData(DefaultPUK), pinData("12345")...)))
	wantSW(t, code, swIncorrectData)
	_, code = tx(t, c2, apdu(0, 0x2C, 0, 0x80, append(pinData(DefaultPUK), pinData("654321")...)))
	wantSW(t, code, swOK)
	if pin, puk := c2.PINRetries(); pin != 3 || puk != 3 {
		t.Fatalf("after unblock: PIN %d PUK %d", pin, puk)
	}
	_, code = tx(t, c2, h("00200080"))
	wantSW(t, code, swVerifyFail|3) // unblock does not verify
	wantSW(t, verifyPIN(t, c2, DefaultPIN), swVerifyFail|2)
	wantSW(t, verifyPIN(t, c2, "654321"), swOK)
}

func TestChangeReferenceAndPUKBlock(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	change := func(ref byte, old, nw string) int {
		_, code := tx(t, c, apdu(0, 0x24, 0, ref, append(pinData(old), pinData(nw)...)))
		return code
	}
	wantSW(t, change(0x80, "000000", "24681357"), swVerifyFail|2)
	wantSW(t, change(0x80, DefaultPIN, "2468"), swIncorrectData)
	wantSW(t, change(0x80, DefaultPIN, "24681357"), swOK)
	_, code := tx(t, c, h("00200080"))
	wantSW(t, code, swOK) // change verifies
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swOK)
	c.PowerOff()
	c.Reset()
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swVerifyFail|3) // power cycle forgets
	wantSW(t, verifyPIN(t, c, DefaultPIN), swVerifyFail|2)
	wantSW(t, verifyPIN(t, c, "24681357"), swOK)
	// PUK: 8 digits; three wrong block it, then unblock is refused.
	wantSW(t, change(0x81, DefaultPUK, "1234567"), swIncorrectData)
	wantSW(t, change(0x81, DefaultPUK, "87654321"), swOK)
	wantSW(t, change(0x81, DefaultPUK, "11112222"), swVerifyFail|2)
	wantSW(t, change(0x81, DefaultPUK, "11112222"), swVerifyFail|1)
	wantSW(t, change(0x81, DefaultPUK, "11112222"), swVerifyFail|0)
	wantSW(t, change(0x81, "87654321", "11112222"), swBlocked)
	_, code = tx(t, c, apdu(0, 0x2C, 0, 0x80, append(pinData("87654321"), pinData("654321")...)))
	wantSW(t, code, swBlocked)
	wantSW(t, change(0x82, DefaultPUK, "11112222"), swRefNotFound)
	md, code := tx(t, c, h("00F7008100"))
	wantSW(t, code, swOK)
	if !bytes.Contains(md, h("06020300")) || !bytes.Contains(md, h("050100")) {
		t.Fatalf("PUK metadata %x", md)
	}
}

func TestSignRSA(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	cert := readCert(t, c, 0x9A)
	pub := cert.PublicKey.(*rsa.PublicKey)
	digest := sha256.Sum256([]byte("hello SITHS"))
	block := pkcs1Block(t, digest[:])
	_, code := sign(t, c, 0x9A, algRSA2048, block)
	wantSW(t, code, swSecurityStatus) // no PIN yet
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	for range 2 { // 9A: PIN once per session
		sig, code := sign(t, c, 0x9A, algRSA2048, block)
		wantSW(t, code, swOK)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatal(err)
		}
	}
	// PSS: the host pads, the card does the raw operation. Use the
	// standard library's own encoding through a verify round trip.
	pss := pssEncode(t, pub, digest[:])
	sig, code := sign(t, c, 0x9A, algRSA2048, pss)
	wantSW(t, code, swOK)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		t.Fatal(err)
	}
	// 9C: PIN always; one VERIFY buys one signature.
	sigCert := readCert(t, c, 0x9C)
	_, code = sign(t, c, 0x9C, algRSA2048, block)
	wantSW(t, code, swSecurityStatus)
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	sig, code = sign(t, c, 0x9C, algRSA2048, block)
	wantSW(t, code, swOK)
	if err := rsa.VerifyPKCS1v15(sigCert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatal(err)
	}
	_, code = sign(t, c, 0x9C, algRSA2048, block)
	wantSW(t, code, swSecurityStatus)
	// Wrong algorithm, wrong length, value ≥ modulus, empty slot.
	_, code = sign(t, c, 0x9A, algECCP256, digest[:])
	wantSW(t, code, swIncorrectP1P2)
	_, code = sign(t, c, 0x9A, algRSA2048, block[1:])
	wantSW(t, code, swIncorrectData)
	_, code = sign(t, c, 0x9A, algRSA2048, bytes.Repeat([]byte{0xFF}, 256))
	wantSW(t, code, swIncorrectData)
	_, code = sign(t, c, 0x9D, algRSA2048, block)
	wantSW(t, code, swRefNotFound)
	if c.Signatures() != 4 {
		t.Fatalf("signatures %d", c.Signatures())
	}
}

// pssEncode builds an EMSA-PSS block (RFC 8017 §9.1.1) for a 2048-bit key
// with a 32-byte salt.
func pssEncode(t testing.TB, pub *rsa.PublicKey, mHash []byte) []byte {
	t.Helper()
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	salt := make([]byte, 32)
	rand.Read(salt)
	hh := sha256.New()
	hh.Write(make([]byte, 8))
	hh.Write(mHash)
	hh.Write(salt)
	H := hh.Sum(nil)
	db := make([]byte, emLen-len(H)-1)
	db[len(db)-len(salt)-1] = 1
	copy(db[len(db)-len(salt):], salt)
	// MGF1-SHA256
	mask := make([]byte, 0, len(db))
	for ctr := uint32(0); len(mask) < len(db); ctr++ {
		m := sha256.New()
		m.Write(H)
		m.Write([]byte{byte(ctr >> 24), byte(ctr >> 16), byte(ctr >> 8), byte(ctr)})
		mask = m.Sum(mask)
	}
	for i := range db {
		db[i] ^= mask[i]
	}
	db[0] &= 0xFF >> (8*emLen - (pub.N.BitLen() - 1))
	em := append(db, H...)
	em = append(em, 0xBC)
	if len(em) < 256 {
		em = append(make([]byte, 256-len(em)), em...)
	}
	return em
}

func TestSignECDSA(t *testing.T) {
	c := newCard(t, testpki.P256, "")
	cert := readCert(t, c, 0x9A)
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("9A key %T", cert.PublicKey)
	}
	digest := sha256.Sum256([]byte("hello"))
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	sig, code := sign(t, c, 0x9A, algECCP256, digest[:])
	wantSW(t, code, swOK)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("ECDSA signature does not verify")
	}
	_, code = sign(t, c, 0x9A, algECCP256, make([]byte, 33))
	wantSW(t, code, swIncorrectData)
	// 82/83 hold the personal-number pair.
	pn := readCert(t, c, 0x82)
	sig, code = sign(t, c, 0x82, algECCP256, digest[:])
	wantSW(t, code, swOK)
	if !ecdsa.VerifyASN1(pn.PublicKey.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("82 signature does not verify")
	}
	if pn.Subject.SerialNumber == cert.Subject.SerialNumber {
		t.Fatal("82 holds the HSA-ID certificate")
	}
	readCert(t, c, 0x83)
}

func TestManagementKey(t *testing.T) {
	for _, tc := range []struct {
		spec string
		alg  byte
		key  []byte
	}{
		{"default", alg3DES, DefaultManagementKey},
		{"default-aes", algAES192, DefaultManagementKey},
		{"00112233445566778899aabbccddeeff", algAES128, h("00112233445566778899aabbccddeeff")},
		{"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", algAES256, h("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")},
	} {
		t.Run(tc.spec[:min(len(tc.spec), 12)], func(t *testing.T) {
			c := newCard(t, testpki.RSA2048, tc.spec)
			md, code := tx(t, c, h("00F7009B00"))
			wantSW(t, code, swOK)
			if md[0] != 0x01 || md[2] != tc.alg {
				t.Fatalf("metadata %x", md)
			}
			// PUT DATA without the key: 6982.
			put := append(tlv(0x5C, h("5FC109")), tlv(0x53, []byte("x"))...)
			_, code = tx(t, c, apdu(0, 0xDB, 0x3F, 0xFF, put))
			wantSW(t, code, swSecurityStatus)
			// A wrong key fails.
			bad := bytes.Repeat([]byte{0x42}, len(tc.key))
			wantSW(t, mgmtAuth(t, c, tc.alg, bad), swSecurityStatus)
			// Wrong algorithm for the key.
			_, code = tx(t, c, apdu(0, 0x87, algAES256^tc.alg^algAES128, 0x9B, h("7C028000")))
			if tc.alg != algAES256^tc.alg^algAES128 {
				wantSW(t, code, swIncorrectP1P2)
			}
			// Response without a witness.
			_, code = tx(t, c, apdu(0, 0x87, tc.alg, 0x9B, tlv(0x7C, append(tlv(0x80, make([]byte, 8)), tlv(0x81, make([]byte, 8))...))))
			wantSW(t, code, swConditionsNotMet)
			wantSW(t, mgmtAuth(t, c, tc.alg, tc.key), swOK)
			_, code = tx(t, c, apdu(0, 0xDB, 0x3F, 0xFF, put))
			wantSW(t, code, swOK)
		})
	}
}

func TestExternalChallengeAuth(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "default-aes")
	resp, code := tx(t, c, apdu(0, 0x87, algAES192, 0x9B, h("7C028100")))
	wantSW(t, code, swOK)
	block, _ := aes.NewCipher(DefaultManagementKey)
	r := make([]byte, 16)
	block.Encrypt(r, resp[4:20])
	_, code = tx(t, c, apdu(0, 0x87, algAES192, 0x9B, tlv(0x7C, tlv(0x82, r))))
	wantSW(t, code, swOK)
	_, code = tx(t, c, apdu(0, 0x47, 0, 0x9D, h("AC03800111")))
	wantSW(t, code, swOK)
}

func TestProtectedManagementKey(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	admin, code := getObject(t, c, tagAdminData)
	wantSW(t, code, swOK)
	if !bytes.Equal(admin, h("5305 8003 810102")) {
		t.Fatalf("admin data %x", admin)
	}
	_, code = getObject(t, c, tagPrinted)
	wantSW(t, code, swSecurityStatus)
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	printed, code := getObject(t, c, tagPrinted)
	wantSW(t, code, swOK)
	if len(printed) != 2+2+2+24 || !bytes.HasPrefix(printed, h("531C881A8918")) {
		t.Fatalf("printed %x", printed)
	}
	key := printed[6:]
	if bytes.Equal(key, DefaultManagementKey) {
		t.Fatal("protected key is the default key")
	}
	md, _ := tx(t, c, h("00F7009B00"))
	if !bytes.Contains(md, h("050100")) {
		t.Fatalf("mgmt metadata says default: %x", md)
	}
	wantSW(t, mgmtAuth(t, c, algAES192, key), swOK)
}

func TestGenerateAndMetadata(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "default")
	_, code := tx(t, c, apdu(0, 0x47, 0, 0x9D, h("AC03800111")))
	wantSW(t, code, swSecurityStatus)
	wantSW(t, mgmtAuth(t, c, alg3DES, DefaultManagementKey), swOK)
	_, code = tx(t, c, apdu(0, 0x47, 0, 0x9D, h("AC03800106")))
	wantSW(t, code, swIncorrectData) // RSA-1024 not offered
	_, code = tx(t, c, apdu(0, 0x47, 0, 0x9B, h("AC03800111")))
	wantSW(t, code, swIncorrectP1P2)
	resp, code := full(t, c, 0x47, 0, 0x9D, h("AC 09 800111 AA0103 AB0101"))
	wantSW(t, code, swOK)
	if !bytes.HasPrefix(resp, h("7F4943 8641 04")) || len(resp) != 3+2+65 {
		t.Fatalf("EC public key %x", resp)
	}
	md, code := tx(t, c, h("00F7009D00"))
	wantSW(t, code, swOK)
	if !bytes.HasPrefix(md, h("010111 02020301 030101 0443864104")) {
		t.Fatalf("metadata %x", md)
	}
	// RSA generation: the answer is long, so 61xx and GET RESPONSE.
	first, code := tx(t, c, apdu(0, 0x47, 0, 0x9E, h("AC03800107")))
	if code&0xFF00 != 0x6100 || len(first) != 256 {
		t.Fatalf("RSA generate: SW %04X, %d bytes", code, len(first))
	}
	rest, code := tx(t, c, []byte{0, 0xC0, 0, 0, byte(code)})
	wantSW(t, code, swOK)
	pk := append(first, rest...)
	tag, v, _, err := readTLV(pk)
	if err != nil || tag != 0x7F49 {
		t.Fatalf("RSA public key %x", pk)
	}
	m, _ := parseTLVs(v)
	if len(m[0x81]) != 256 || !bytes.Equal(m[0x82], h("010001")) {
		t.Fatalf("RSA public key %x", pk)
	}
	// 9E: PIN policy never by default: signs without the PIN.
	in := make([]byte, 256)
	in[1] = 1
	_, code = sign(t, c, 0x9E, algRSA2048, in)
	wantSW(t, code, swOK)
	md, code = full(t, c, 0xF7, 0, 0x9A, nil)
	wantSW(t, code, swOK)
	if !bytes.HasPrefix(md, h("010107 02020201 030102")) {
		t.Fatalf("9A metadata %x", md)
	}
	_, code = tx(t, c, h("00F7009500"))
	wantSW(t, code, swRefNotFound)
	md, code = tx(t, c, h("00F7008000"))
	wantSW(t, code, swOK)
	if !bytes.Equal(md, h("0101FF 050101 06020303")) {
		t.Fatalf("PIN metadata %x", md)
	}
	// The generated key survives a restart.
	c2, err := Load(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	md2, _ := tx(t, c2, h("00F7009D00"))
	if !bytes.Contains(md2, resp[3:]) {
		t.Fatalf("9D after restart %x", md2)
	}
}

func TestChainingAndExtended(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "default")
	wantSW(t, mgmtAuth(t, c, alg3DES, DefaultManagementKey), swOK)
	value := make([]byte, 1500)
	rand.Read(value)
	put := append(tlv(0x5C, h("5FC110")), tlv(0x53, value)...)
	_, code := full(t, c, 0xDB, 0x3F, 0xFF, put)
	wantSW(t, code, swOK)
	got, code := getObject(t, c, 0x5FC110)
	wantSW(t, code, swOK)
	if !bytes.Equal(got, tlv(0x53, value)) {
		t.Fatal("chained PUT / GET RESPONSE round trip differs")
	}
	// Extended APDU: the whole object in one answer when Le allows.
	ext := append([]byte{0, 0xCB, 0x3F, 0xFF, 0, 0, 5}, tlv(0x5C, h("5FC110"))...)
	ext = append(ext, 0, 0)
	got, code = tx(t, c, ext)
	wantSW(t, code, swOK)
	if !bytes.Equal(got, tlv(0x53, value)) {
		t.Fatal("extended GET DATA differs")
	}
	// Extended PUT without chaining.
	put2 := append(tlv(0x5C, h("5FC111")), tlv(0x53, value)...)
	_, code = tx(t, c, apdu(0, 0xDB, 0x3F, 0xFF, put2))
	wantSW(t, code, swOK)
	got, _ = getObject(t, c, 0x5FC111)
	if !bytes.Equal(got, tlv(0x53, value)) {
		t.Fatal("extended PUT differs")
	}
	// Short Le smaller than the answer: 61xx with the rest.
	r, code := tx(t, c, append(apdu(0, 0xCB, 0x3F, 0xFF, tlv(0x5C, h("5FC110"))), 0x10))
	if code != swBytesRemaining || len(r) != 16 {
		t.Fatalf("SW %04X len %d", code, len(r))
	}
	// Another command drops the pending answer.
	tx(t, c, h("00FD000000"))
	_, code = tx(t, c, h("00C0000000"))
	wantSW(t, code, swConditionsNotMet)
	// A chain interrupted by another command: 6883.
	_, code = tx(t, c, apdu(0x10, 0xDB, 0x3F, 0xFF, put[:100]))
	wantSW(t, code, swOK)
	_, code = tx(t, c, h("00FD000000"))
	wantSW(t, code, swLastCmdExpected)
	_, code = tx(t, c, h("00FD000000"))
	wantSW(t, code, swOK)
	// Delete with an empty 53.
	_, code = tx(t, c, apdu(0, 0xDB, 0x3F, 0xFF, h("5C035FC110 5300")))
	wantSW(t, code, swOK)
	_, code = getObject(t, c, 0x5FC110)
	wantSW(t, code, swFileNotFound)
}

func TestStatusWords(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	for _, tc := range []struct {
		name  string
		capdu string
		sw    int
	}{
		{"too short", "00A4", swWrongLength},
		{"Lc mismatch", "00CB3FFF055C035FC1", swWrongLength},
		{"ext Lc 0", "00CB3FFF00000001", swWrongLength},
		{"ext case 2 GET DATA without list", "00CB3FFF000000", swIncorrectData},
		{"bad CLA", "80FD000000", swCLANotSupported},
		{"secure messaging CLA", "0CFD000000", swCLANotSupported},
		{"unknown INS", "0012000000", swINSNotSupported},
		{"GET DATA P1P2", "00CB3FFE055C035FC102", swIncorrectP1P2},
		{"GET DATA missing object", "00CB3FFF055C035FC10B", swFileNotFound},
		{"GET DATA unknown tag", "00CB3FFF055C035FC201", swFileNotFound},
		{"GET DATA bad list", "00CB3FFF035A0102", swIncorrectData},
		{"GET RESPONSE none", "00C0000000", swConditionsNotMet},
		{"VERSION P1", "00FD010000", swIncorrectP1P2},
		{"METADATA unknown", "00F7000100", swRefNotFound},
		{"GA bad template", "0087079A027D00", swIncorrectData},
		{"GA bad slot", "0087079F04 7C028200", swRefNotFound},
		{"RESET not blocked", "00FB000000", swConditionsNotMet},
		{"SET RETRIES no auth", "00FA0505", swSecurityStatus},
		{"SET MGMT no auth", "00FFFFFF1B0A9B18" + strings.Repeat("00", 24), swSecurityStatus},
		{"IMPORT no auth", "00FE079A00", swSecurityStatus},
		{"GENERATE P1", "0047019A05AC03800111", swIncorrectP1P2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, code := tx(t, c, h(tc.capdu))
			wantSW(t, code, tc.sw)
		})
	}
	// Objects everyone may read.
	for _, tag := range []int{tagCHUID, tagCCC, tagKeyHistory, 0x5FC105, 0x5FC10A, 0x5FC10D, 0x5FC10E} {
		_, code := getObject(t, c, tag)
		wantSW(t, code, swOK)
	}
	d, code := getObject(t, c, tagDiscovery)
	wantSW(t, code, swOK)
	if !bytes.Equal(d, discovery()) {
		t.Fatalf("discovery %x", d)
	}
	kh, _ := getObject(t, c, tagKeyHistory)
	if !bytes.Contains(kh, h("C10102")) {
		t.Fatalf("key history %x", kh)
	}
}

func TestManagementAppletSelectResetsSecurity(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	_, code := tx(t, c, apdu(0, 0xA4, 4, 0, yubiMgmtAID))
	wantSW(t, code, swOK)
	_, code = tx(t, c, h("00FD000000"))
	wantSW(t, code, swINSNotSupported)
	selectPIV(t, c)
	_, code = tx(t, c, h("00200080"))
	wantSW(t, code, swVerifyFail|3)
}

func TestFactoryResetAndSetRetries(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "default")
	wantSW(t, mgmtAuth(t, c, alg3DES, DefaultManagementKey), swOK)
	_, code := tx(t, c, h("00FA0505"))
	wantSW(t, code, swSecurityStatus) // needs the PIN too
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	_, code = tx(t, c, h("00FA0505"))
	wantSW(t, code, swOK)
	for i := 4; i >= 0; i-- {
		wantSW(t, verifyPIN(t, c, "999999"), swVerifyFail|i)
	}
	for i := 4; i >= 0; i-- {
		_, code = tx(t, c, apdu(0, 0x2C, 0, 0x80, append(pinData("99999999"), pinData("999999")...)))
		wantSW(t, code, swVerifyFail|i)
	}
	_, code = tx(t, c, h("00FB000000"))
	wantSW(t, code, swOK)
	_, code = getObject(t, c, 0x5FC105)
	wantSW(t, code, swFileNotFound)
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
}

func TestImportKey(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "default")
	wantSW(t, mgmtAuth(t, c, alg3DES, DefaultManagementKey), swOK)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	scalar := k.D.FillBytes(make([]byte, 32))
	_, code := tx(t, c, apdu(0, 0xFE, algECCP256, 0x9D, append(tlv(0x06, scalar), h("AA0101")...)))
	wantSW(t, code, swOK)
	digest := sha256.Sum256([]byte("imported"))
	sig, code := sign(t, c, 0x9D, algECCP256, digest[:])
	wantSW(t, code, swOK)
	if !ecdsa.VerifyASN1(&k.PublicKey, digest[:], sig) {
		t.Fatal("imported key signature does not verify")
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	data := append(tlv(0x01, rk.Primes[0].Bytes()), tlv(0x02, rk.Primes[1].Bytes())...)
	data = append(data, tlv(0x03, rk.Precomputed.Dp.Bytes())...)
	data = append(data, tlv(0x04, rk.Precomputed.Dq.Bytes())...)
	data = append(data, tlv(0x05, rk.Precomputed.Qinv.Bytes())...)
	_, code = full(t, c, 0xFE, algRSA2048, 0x95, data)
	wantSW(t, code, swOK)
	wantSW(t, verifyPIN(t, c, DefaultPIN), swOK)
	block := pkcs1Block(t, digest[:])
	sig, code = sign(t, c, 0x95, algRSA2048, block)
	wantSW(t, code, swOK)
	if err := rsa.VerifyPKCS1v15(&rk.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatal(err)
	}
}

func TestPersistenceAndAtomicWrite(t *testing.T) {
	c := newCard(t, testpki.RSA2048, "")
	wantSW(t, verifyPIN(t, c, "999999"), swVerifyFail|2)
	// The state file holds no PIN or PUK, in any encoding we might slip.
	b, err := os.ReadFile(filepath.Join(c.Dir(), StateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{DefaultPIN, DefaultPUK, hex.EncodeToString(pinData(DefaultPIN)), "MTIzNDU2"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("state file contains %q", secret)
		}
	}
	st, err := os.Stat(filepath.Join(c.Dir(), StateFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v %v", st.Mode(), err)
	}
	// A failing write: the wrong PIN is refused with 6581 and no try is
	// lost, neither in memory nor on disk.
	c.failSave = func() error { return errors.New("disk full") }
	wantSW(t, verifyPIN(t, c, "999999"), swMemoryFailure)
	if pin, _ := c.PINRetries(); pin != 2 {
		t.Fatalf("tries after failed write: %d", pin)
	}
	c.failSave = nil
	// No temporary files left behind.
	ents, _ := os.ReadDir(c.Dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".card-") {
			t.Fatalf("leftover %s", e.Name())
		}
	}
	c2, err := Load(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if pin, puk := c2.PINRetries(); pin != 2 || puk != 3 {
		t.Fatalf("after reload: PIN %d PUK %d", pin, puk)
	}
	// A torn or foreign file is refused, not half-loaded.
	if err := os.WriteFile(filepath.Join(c.Dir(), StateFile), b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(c.Dir()); err == nil {
		t.Fatal("loaded a torn state file")
	}
	// Provision refuses to overwrite.
	if err := Provision(ProvisionOptions{Dir: c.Dir()}); !errors.Is(err, ErrExists) {
		t.Fatalf("Provision over a card: %v", err)
	}
}
