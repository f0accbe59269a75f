package vcard

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// newIDPrime provisions an IDPrime card (with the signing key when
// withSigning) and loads it.
func newIDPrime(t testing.TB, withSigning bool) *Card {
	t.Helper()
	dir := t.TempDir()
	if err := Provision(ProvisionOptions{Dir: dir, Kind: KindIDPrime, WithSigning: withSigning}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func idpSelect(t testing.TB, c *Card, fid uint16) ([]byte, int) {
	t.Helper()
	return tx(t, c, []byte{0x00, 0xA4, 0x08, 0x00, 0x02, byte(fid >> 8), byte(fid), 0x00})
}

// idpRead selects fid and reads it whole, as OpenSC does: the size from
// the FCI, READ BINARY in chunks of 256.
func idpRead(t testing.TB, c *Card, fid uint16) []byte {
	t.Helper()
	fci, code := idpSelect(t, c, fid)
	wantSW(t, code, swOK)
	m, err := parseTLVs(fci[2:])
	if err != nil || fci[0] != 0x6F || len(m[0x80]) != 2 {
		t.Fatalf("FCI of %04X: %x", fid, fci)
	}
	size := int(binary.BigEndian.Uint16(m[0x80]))
	var out []byte
	for len(out) < size {
		n := min(256, size-len(out))
		data, code := tx(t, c, []byte{0x00, 0xB0, byte(len(out) >> 8), byte(len(out)), byte(n)})
		wantSW(t, code, swOK)
		if len(data) != n {
			t.Fatalf("READ BINARY of %d bytes at %d: %d", n, len(out), len(data))
		}
		out = append(out, data...)
	}
	return out
}

func idpVerifyPIN(t testing.TB, c *Card, ref byte, pin string) int {
	t.Helper()
	_, code := tx(t, c, apdu(0, 0x20, 0, ref, padIDP(pin)))
	return code
}

// Each IDPrime card has its own chip identity in its CPLC (IC serial number
// and batch, which the backend takes as the card ID), derived from its
// card number as the cardid is: another card number gives another, the
// same card number the same.
func TestIDPrimeCPLCIdentifiesTheCard(t *testing.T) {
	chip := func(hsaID string) []byte {
		dir := t.TempDir()
		if err := Provision(ProvisionOptions{Dir: dir, Kind: KindIDPrime, Spec: testpki.CardSpec{HSAID: hsaID}}); err != nil {
			t.Fatal(err)
		}
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		cplc, code := tx(t, c, h("00CA9F7F2D"))
		wantSW(t, code, swOK)
		if !bytes.Equal(cplc, c.CPLC()) {
			t.Fatalf("GET DATA %X, CPLC() %X", cplc, c.CPLC())
		}
		id := cplc[3+12 : 3+18] // IC serial number and IC batch identifier
		if !bytes.Equal(id, c.CardID()[:6]) {
			t.Fatalf("chip identity %X, not from the cardid %X", id, c.CardID())
		}
		return id
	}
	a, b, a2 := chip("SE2321000016-1234"), chip("SE2321000016-5678"), chip("SE2321000016-1234")
	if bytes.Equal(a, b) {
		t.Errorf("two cards, one chip identity %X", a)
	}
	if !bytes.Equal(a, a2) {
		t.Errorf("the same card number, chip identities %X and %X", a, a2)
	}
}

func TestIDPrimeATRAndData(t *testing.T) {
	c := newIDPrime(t, false)
	if !bytes.Equal(c.ATR(), h("3B7F9600008031 8065B0855956FB120FFE829000")) {
		t.Fatalf("ATR %X", c.ATR())
	}
	if c.Kind() != KindIDPrime {
		t.Fatalf("kind %q", c.Kind())
	}
	_, code := tx(t, c, h("00A4040C0BA000000018800000000662"))
	wantSW(t, code, swOK)
	_, code = tx(t, c, h("00A404000BA000000018800000000662"))
	wantSW(t, code, swOK)
	_, code = tx(t, c, h("00A4040C05A000000308"))
	wantSW(t, code, swFileNotFound)
	cplc, code := tx(t, c, h("00CA9F7F2D"))
	wantSW(t, code, swOK)
	if len(cplc) != 45 || !bytes.Equal(cplc[:3], h("9F7F2A")) || cplc[11] != 0x04 {
		t.Fatalf("CPLC %X", cplc)
	}
	v, code := tx(t, c, h("00CADF3000"))
	wantSW(t, code, swOK)
	if !bytes.Equal(v, append(h("DF3007"), "4.3.5.D"...)) {
		t.Fatalf("applet version %X", v)
	}
	_, code = tx(t, c, h("00CA010100"))
	wantSW(t, code, swIncorrectP1P2)
	// GET RESPONSE: a CPLC asked with Le 10 leaves 35 bytes.
	part, code := tx(t, c, h("00CA9F7F0A"))
	wantSW(t, code, swBytesRemaining|35)
	rest, code := tx(t, c, h("00C0000023"))
	wantSW(t, code, swOK)
	if !bytes.Equal(append(part, rest...), cplc) {
		t.Fatal("GET RESPONSE does not continue the CPLC")
	}
	_, code = tx(t, c, h("00C0000000"))
	wantSW(t, code, swConditionsNotMet)
	_, code = tx(t, c, h("00C0010000"))
	wantSW(t, code, swIncorrectP1P2)
	for _, tc := range []struct {
		capdu string
		want  int
	}{
		{"00", swWrongLength},
		{"00CA9F7F 00 0002 0000", swWrongLength}, // extended
		{"80CA9F7F00", swCLANotSupported},
		{"10CA9F7F00", swCLANotSupported},
		{"0084000008", swINSNotSupported}, // GET CHALLENGE is not in the contract
		{"00A4080003010100", swLcInconsistent},
		{"00A4080102010100", swIncorrectP1P2},
		{"00A4020002010100", swIncorrectP1P2},
		{"00A40800022F0000", swFileNotFound},
		{"00A408000250 1500", swFileNotFound},
		{"00A40800025031 00", swFileNotFound},
	} {
		_, code := tx(t, c, h(tc.capdu))
		if code != tc.want {
			t.Errorf("%s: %04X, want %04X", tc.capdu, code, tc.want)
		}
	}
}

func TestIDPrimeFiles(t *testing.T) {
	for _, withSigning := range []bool{false, true} {
		c := newIDPrime(t, withSigning)
		_, code := tx(t, c, h("00B0000010"))
		wantSW(t, code, swNoCurrentEF)
		index := idpRead(t, c, fidIndex)
		n := int(index[0])
		if len(index) != 1+n*21 {
			t.Fatalf("index of %d bytes for %d records", len(index), n)
		}
		type rec struct {
			fid       uint16
			size      int
			name, dir string
			flag      byte
		}
		var recs []rec
		for i := 0; i < n; i++ {
			r := index[1+i*21 : 1+(i+1)*21]
			recs = append(recs, rec{binary.BigEndian.Uint16(r), int(binary.BigEndian.Uint16(r[2:])),
				string(bytes.TrimRight(r[4:12], "\x00")), string(bytes.TrimRight(r[12:20], "\x00")), r[20]})
		}
		want := []rec{{0x0201, 16, "cardid", "", 3}, {0x0202, 6, "cardcf", "", 1}, {0x0203, 8, "cardapps", "", 1},
			{0x0204, 0, "cmapfile", "mscp", 1}, {0x0205, 0, "tinfo", "p11", 1}, {0x0206, 0, "kxc00", "mscp", 1}}
		if withSigning {
			want = append(want, rec{0x0207, 0, "ksc01", "mscp", 1})
		}
		if len(recs) != len(want) {
			t.Fatalf("index %+v, want %+v", recs, want)
		}
		for i, w := range want {
			got := recs[i]
			if got.fid != w.fid || got.name != w.name || got.dir != w.dir || got.flag != w.flag || (w.size != 0 && got.size != w.size) {
				t.Errorf("record %d: %+v, want %+v", i, got, w)
			}
			if content := idpRead(t, c, got.fid); len(content) != got.size {
				t.Errorf("%s: index says %d bytes, file has %d", got.name, got.size, len(content))
			}
		}
		cardID := idpRead(t, c, fidCardID)
		if !bytes.Equal(cardID[:8], cardID[8:]) || !bytes.Equal(cardID, c.CardID()) {
			t.Errorf("cardid %X", cardID)
		}
		cmap := idpRead(t, c, fidCMap)
		keyRefs := idpRead(t, c, fidKeyRefs)
		nKeys := map[bool]int{false: 1, true: 2}[withSigning]
		if len(cmap) != nKeys*86 || len(keyRefs) != nKeys*8 {
			t.Fatalf("cmapfile %d bytes, 0005 %d bytes for %d keys", len(cmap), len(keyRefs), nKeys)
		}
		for i := 0; i < nKeys; i++ {
			if cmap[i*86] == 0 || cmap[i*86+80]&1 == 0 {
				t.Errorf("container %d not valid", i)
			}
			kr := keyRefs[i*8 : i*8+8]
			wantPIN := byte(1 + i)
			if kr[0] != wantPIN || kr[1] != byte(0x56+i) || kr[2] != byte(i) || kr[7] != wantPIN {
				t.Errorf("0005 record %d: %X", i, kr)
			}
		}
		tinfo := idpRead(t, c, fidTInfo)
		if tinfo[0] != 1 || int(tinfo[1]) != len(tinfo)-2 || string(tinfo[2:len(tinfo)-1]) != "SITHS eID" || tinfo[len(tinfo)-1] != 0 {
			t.Errorf("tinfo %q", tinfo)
		}
		info := c.Info()
		for i := 0; i < nKeys; i++ {
			z := idpRead(t, c, uint16(0x0206+i))
			if z[0] != 1 || z[1] != 0 {
				t.Fatalf("certificate %d not in the compressed form: %X", i, z[:4])
			}
			zr, err := zlib.NewReader(bytes.NewReader(z[4:]))
			if err != nil {
				t.Fatal(err)
			}
			der, err := io.ReadAll(zr)
			if err != nil || len(der) != int(binary.LittleEndian.Uint16(z[2:])) {
				t.Fatalf("certificate %d: %v, %d bytes", i, err, len(der))
			}
			if !bytes.Equal(der, info.Slots[i].Certificate.Raw) {
				t.Errorf("certificate %d differs from the provisioned one", i)
			}
		}
		// READ BINARY edges.
		idpSelect(t, c, fidCardID)
		d, code := tx(t, c, h("00B0000800")) // Le past the end: the rest
		wantSW(t, code, swOK)
		if len(d) != 8 {
			t.Errorf("read at 8 of 16 gave %d bytes", len(d))
		}
		for capdu, want := range map[string]int{"00B0001000": swWrongOffset, "00B0800000": swIncorrectP1P2, "00B00000 01 00": swWrongLength} {
			if _, code := tx(t, c, h(capdu)); code != want {
				t.Errorf("%s: %04X, want %04X", capdu, code, want)
			}
		}
		// P2 0C: no FCI; P1 00 (OpenSC's FILE_ID form) works too.
		d, code = tx(t, c, h("00A4080C020201"))
		wantSW(t, code, swOK)
		if len(d) != 0 {
			t.Errorf("SELECT P2=0C answered %X", d)
		}
		if _, code = tx(t, c, h("00A40000020206")); code != swOK {
			t.Errorf("SELECT P1=00: %04X", code)
		}
	}
}

func TestIDPrimeVerify(t *testing.T) {
	c := newIDPrime(t, true)
	_, code := tx(t, c, h("00200011"))
	wantSW(t, code, swVerifyFail|3)
	wantSW(t, idpVerifyPIN(t, c, refIDPPIN, "654321"), swVerifyFail|2)
	if pin, _ := c.PINRetries(); pin != 2 {
		t.Fatalf("tries %d", pin)
	}
	wantSW(t, idpVerifyPIN(t, c, refIDPPIN, DefaultPIN), swOK)
	_, code = tx(t, c, h("00200011"))
	wantSW(t, code, swOK)
	// The signature PIN is its own.
	_, code = tx(t, c, h("00200083"))
	wantSW(t, code, swVerifyFail|3)
	wantSW(t, idpVerifyPIN(t, c, refIDPSignPIN, DefaultPIN), swVerifyFail|2)
	wantSW(t, idpVerifyPIN(t, c, refIDPSignPIN, DefaultSignPIN), swOK)
	if n, ok := c.SignPINRetries(); !ok || n != 3 {
		t.Fatalf("sign tries %d %t", n, ok)
	}
	// Reset loses the security status.
	c.Reset()
	_, code = tx(t, c, h("00200011"))
	wantSW(t, code, swVerifyFail|3)
	// The PUK: tries readable on 12, never verifiable.
	_, code = tx(t, c, h("00200012"))
	wantSW(t, code, swVerifyFail|3)
	wantSW(t, idpVerifyPIN(t, c, refIDPPUK, DefaultPUK), swSecurityStatus)
	for capdu, want := range map[string]int{
		"00200080":                    swRefNotFound,
		"00200111":                    swIncorrectP1P2,
		"0020001108 3132333435360000": swWrongLength,
		"00200011 10 " + "00000000000000000000000000000000"[:32]: swVerifyFail | 2,
	} {
		_, code := tx(t, c, h(capdu))
		if code != want {
			t.Errorf("%s: %04X, want %04X", capdu, code, want)
		}
	}
	// Block.
	wantSW(t, idpVerifyPIN(t, c, refIDPPIN, "000000"), swVerifyFail|1)
	wantSW(t, idpVerifyPIN(t, c, refIDPPIN, "000000"), swVerifyFail|0)
	wantSW(t, idpVerifyPIN(t, c, refIDPPIN, DefaultPIN), swBlocked)
	_, code = tx(t, c, h("00200011"))
	wantSW(t, code, swBlocked)
	// A card without a signing key has no PIN 83.
	c2 := newIDPrime(t, false)
	_, code = tx(t, c2, h("00200083"))
	wantSW(t, code, swRefNotFound)
	if _, ok := c2.SignPINRetries(); ok {
		t.Error("a 2024 card reports a signature PIN")
	}
	// Persisted: a reload sees the blocked PIN.
	r, err := Load(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if pin, puk := r.PINRetries(); pin != 0 || puk != 3 {
		t.Errorf("reloaded: PIN %d PUK %d", pin, puk)
	}
}

func TestIDPrimeChangeAndUnblock(t *testing.T) {
	c := newIDPrime(t, true)
	change := func(ref byte, old, nw []byte) int {
		_, code := tx(t, c, apdu(0, 0x24, 0, ref, append(append([]byte(nil), old...), nw...)))
		return code
	}
	unblock := func(ref byte, puk, nw []byte) int {
		_, code := tx(t, c, apdu(0, 0x2C, 0, ref, append(append([]byte(nil), puk...), nw...)))
		return code
	}
	// A new PIN of the wrong form: refused, no try spent.
	for _, bad := range []string{"12345", "123456789", "12a456"} {
		wantSW(t, change(refIDPPIN, padIDP(DefaultPIN), padIDP(bad)), swIncorrectData)
	}
	wantSW(t, change(refIDPPIN, padIDP(DefaultPIN), append([]byte("123456"), 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0)), swIncorrectData)
	if pin, _ := c.PINRetries(); pin != 3 {
		t.Fatalf("tries %d after refused new PINs", pin)
	}
	wantSW(t, change(refIDPPIN, padIDP("999999"), padIDP("24681357")), swVerifyFail|2)
	wantSW(t, change(refIDPPIN, padIDP(DefaultPIN), padIDP("24681357")), swOK)
	if !c.PINIs([]byte("24681357")) || c.PINIs([]byte(DefaultPIN)) {
		t.Fatal("PIN not changed")
	}
	_, code := tx(t, c, h("00200011"))
	wantSW(t, code, swOK) // CHANGE verifies
	wantSW(t, change(refIDPSignPIN, padIDP(DefaultSignPIN), padIDP("97531")), swIncorrectData)
	wantSW(t, change(refIDPSignPIN, padIDP(DefaultSignPIN), padIDP("975310")), swOK)
	if !c.SignPINIs([]byte("975310")) {
		t.Fatal("signature PIN not changed")
	}
	for capdu, want := range map[string]int{
		"0024001210" + "3132333435363738 0000000000000000": swRefNotFound,
		"00240111":         swIncorrectP1P2,
		"0024001102 3132":  swWrongLength,
		"002C001102 3132":  swWrongLength,
		"002C0111":         swIncorrectP1P2,
		"002C001200":       swRefNotFound,
		"002C0080 02 3132": swRefNotFound,
	} {
		_, code := tx(t, c, h(capdu))
		if code != want {
			t.Errorf("%s: %04X, want %04X", capdu, code, want)
		}
	}
	// Block PIN 11, unblock with the PUK.
	for i := 0; i < 3; i++ {
		idpVerifyPIN(t, c, refIDPPIN, "000000")
	}
	wantSW(t, unblock(refIDPPIN, padIDP(DefaultPUK), padIDP("1234")), swIncorrectData)
	wantSW(t, unblock(refIDPPIN, padIDP("87654321"), padIDP("11223344")), swVerifyFail|2)
	_, code = tx(t, c, h("00200012"))
	wantSW(t, code, swVerifyFail|2)
	wantSW(t, unblock(refIDPPIN, padIDP(DefaultPUK), padIDP("11223344")), swOK)
	if pin, puk := c.PINRetries(); pin != 3 || puk != 3 || !c.PINIs([]byte("11223344")) {
		t.Fatalf("after unblock: PIN %d PUK %d", pin, puk)
	}
	_, code = tx(t, c, h("00200011"))
	wantSW(t, code, swVerifyFail|3) // unblock does not verify
	// Unblock the signature PIN too.
	wantSW(t, unblock(refIDPSignPIN, padIDP(DefaultPUK), padIDP("55667788")), swOK)
	if !c.SignPINIs([]byte("55667788")) || !c.PUKIs([]byte(DefaultPUK)) {
		t.Fatal("signature PIN not unblocked")
	}
	// Block the PUK.
	for i := 2; i >= 0; i-- {
		wantSW(t, unblock(refIDPPIN, padIDP("87654321"), padIDP("11223344")), swVerifyFail|i)
	}
	wantSW(t, unblock(refIDPPIN, padIDP(DefaultPUK), padIDP("11223344")), swBlocked)
	_, code = tx(t, c, h("00200012"))
	wantSW(t, code, swBlocked)
}

func TestIDPrimeSign(t *testing.T) {
	c := newIDPrime(t, true)
	info := c.Info()
	auth := info.Slots[0].Certificate.PublicKey.(*rsa.PublicKey)
	signing := info.Slots[1].Certificate.PublicKey.(*rsa.PublicKey)
	msg := []byte("IDPrime")
	s256 := sha256.Sum256(msg)
	s384 := sha512.Sum384(msg)
	s512 := sha512.Sum512(msg)
	mse := func(alg, ref byte) int {
		_, code := tx(t, c, apdu(0, 0x22, 0x41, 0xB6, []byte{0x80, 1, alg, 0x84, 1, ref}))
		return code
	}
	hash := func(in []byte) ([]byte, int) {
		return tx(t, c, append(apdu(0, 0x2A, 0x90, 0xA0, append([]byte{0x90, byte(len(in))}, in...)), byte(len(in))))
	}
	cds := func() ([]byte, int) { return tx(t, c, h("002A9E9A00")) }

	wantSW(t, mse(idpAlgSHA256, 0x56), swOK)
	echo, code := hash(s256[:])
	wantSW(t, code, swOK)
	if !bytes.Equal(echo, s256[:]) {
		t.Fatal("PSO HASH does not echo the hash")
	}
	_, code = cds()
	wantSW(t, code, swSecurityStatus) // PIN 11 not verified
	wantSW(t, idpVerifyPIN(t, c, refIDPPIN, DefaultPIN), swOK)
	sig, code := cds() // a refused CDS keeps the hash for the next one
	wantSW(t, code, swOK)
	if err := rsa.VerifyPKCS1v15(auth, crypto.SHA256, s256[:], sig); err != nil {
		t.Fatal(err)
	}
	digestInfo := append(h("3031300d060960864801650304020105000420"), s256[:]...)
	for _, tc := range []struct {
		alg  byte
		in   []byte
		hash crypto.Hash
	}{
		{idpAlgSHA256, s256[:], crypto.SHA256}, {idpAlgSHA384, s384[:], crypto.SHA384}, {idpAlgSHA512, s512[:], crypto.SHA512},
		{idpAlgPSS256, s256[:], crypto.SHA256}, {idpAlgPSS384, s384[:], crypto.SHA384}, {idpAlgPSS512, s512[:], crypto.SHA512},
		{idpAlgRawPKCS1, digestInfo, crypto.SHA256},
	} {
		before := c.Signatures()
		wantSW(t, mse(tc.alg, 0x56), swOK)
		_, code := hash(tc.in)
		wantSW(t, code, swOK)
		sig, code := cds()
		wantSW(t, code, swOK)
		var err error
		digest := tc.in
		if tc.alg == idpAlgRawPKCS1 {
			digest = s256[:]
		}
		if idpAlgPSS(tc.alg) {
			err = rsa.VerifyPSS(auth, tc.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			if err == nil {
				err = rsa.VerifyPSS(auth, tc.hash, digest, sig, &rsa.PSSOptions{SaltLength: tc.hash.Size()})
			}
		} else {
			err = rsa.VerifyPKCS1v15(auth, tc.hash, digest, sig)
		}
		if err != nil {
			t.Errorf("alg %02X: %v", tc.alg, err)
		}
		if c.Signatures() != before+1 {
			t.Errorf("alg %02X: signatures not counted", tc.alg)
		}
		_, code = cds()
		wantSW(t, code, swConditionsNotMet) // one hash, one signature
	}
	// The signing key wants PIN 83.
	wantSW(t, mse(idpAlgSHA256, 0x57), swOK)
	hash(s256[:])
	_, code = cds()
	wantSW(t, code, swSecurityStatus)
	wantSW(t, idpVerifyPIN(t, c, refIDPSignPIN, DefaultSignPIN), swOK)
	hash(s256[:])
	sig, code = cds()
	wantSW(t, code, swOK)
	if err := rsa.VerifyPKCS1v15(signing, crypto.SHA256, s256[:], sig); err != nil {
		t.Errorf("signing key: %v", err)
	}
	// A short Le: 61xx and GET RESPONSE.
	hash(s256[:])
	part, code := tx(t, c, h("002A9E9A80"))
	wantSW(t, code, swBytesRemaining|0x80)
	rest, code := tx(t, c, h("00C0000000"))
	wantSW(t, code, swOK)
	if err := rsa.VerifyPKCS1v15(signing, crypto.SHA256, s256[:], append(part, rest...)); err != nil {
		t.Errorf("signature through GET RESPONSE: %v", err)
	}
	// Errors.
	wantSW(t, mse(0x99, 0x56), swIncorrectData)
	_, code = hash(s256[:])
	wantSW(t, code, swConditionsNotMet) // a failed MSE clears the environment
	wantSW(t, mse(idpAlgSHA256, 0x58), swRefNotFound)
	wantSW(t, mse(idpAlgSHA256, 0x56), swOK)
	_, code = hash(s384[:])
	wantSW(t, code, swIncorrectData)
	_, code = hash(make([]byte, 250))
	wantSW(t, code, swIncorrectData)
	for capdu, want := range map[string]int{
		"002241B8 06 80011A840156":        swFuncNotSupported,
		"002241A4 06 800142840156":        swIncorrectP1P2,
		"002281B6 06 800142840156":        swIncorrectP1P2,
		"002241B6 03 800142":              swIncorrectData,
		"002241B6 09 800142840156 830100": swIncorrectData,
		"002241B6 02 8001":                swIncorrectData,
		"002A8086 03 810102":              swFuncNotSupported,
		"002A9E9B00":                      swIncorrectP1P2,
		"002A9E9A 01 00":                  swIncorrectData,
	} {
		_, code := tx(t, c, h(capdu))
		if code != want {
			t.Errorf("%s: %04X, want %04X", capdu, code, want)
		}
	}
	wantSW(t, mse(idpAlgSHA256, 0x56), swOK)
	_, code = tx(t, c, h("002A90A0 03 910100"))
	wantSW(t, code, swIncorrectData)
	// A power cycle loses the PINs and the environment.
	c.PowerOff()
	c.Reset()
	_, code = cds()
	wantSW(t, code, swConditionsNotMet)
	wantSW(t, mse(idpAlgSHA256, 0x56), swOK)
	hash(s256[:])
	_, code = cds()
	wantSW(t, code, swSecurityStatus)
}

func TestIDPrimeProvision(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []ProvisionOptions{
		{Dir: dir, Kind: "smartcard"},
		{Dir: dir, Kind: KindIDPrime, Spec: testpki.CardSpec{Key: testpki.P256}},
		{Dir: dir, Kind: KindIDPrime, MgmtKey: "default"},
		{Dir: dir, Kind: KindIDPrime, WithSigning: true, SignPIN: "12"},
		{Dir: dir, Kind: KindPIV, WithSigning: true},
	} {
		if err := Provision(bad); err == nil {
			t.Errorf("%+v provisioned", bad)
		}
	}
	// Each card its own cardid, from its card number.
	a, b := newIDPrime(t, false), newIDPrime(t, false)
	if !bytes.Equal(a.CardID(), b.CardID()) {
		t.Error("the same card number gave two cardids")
	}
	d := t.TempDir()
	if err := Provision(ProvisionOptions{Dir: d, Kind: KindIDPrime, Spec: testpki.CardSpec{CardNumber: "97520000000000000017"}}); err != nil {
		t.Fatal(err)
	}
	other, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.CardID(), other.CardID()) {
		t.Error("two card numbers share a cardid")
	}
	// PINs on disk only as hashes.
	raw, err := os.ReadFile(filepath.Join(d, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{DefaultPIN, DefaultPUK, string(padIDP(DefaultPIN))} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the state holds %q", secret)
		}
	}
	in := other.Info()
	if in.Kind != KindIDPrime || in.HasSignPIN || len(in.Slots) != 1 || in.Slots[0].Slot != "kxc00" || in.Slots[0].KeyRef != "56" || in.Slots[0].PIN != "11" {
		t.Errorf("info %+v", in)
	}
	if _, err := x509.ParseCertificate(in.Slots[0].Certificate.Raw); err != nil {
		t.Error(err)
	}
	// A state from before kinds is a PIV card.
	p := newCard(t, testpki.RSA2048, "default")
	if p.Kind() != KindPIV || p.Info().Kind != KindPIV {
		t.Errorf("PIV card kind %q", p.Kind())
	}
}
