package piv

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"math/big"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
)

// sent is one APDU as fakeCard saw it: the buffer it was handed, and a
// copy of its bytes at that moment.
type sent struct {
	buf, atSend []byte
}

// fakeCard answers each APDU with the next of its answers and records
// what it was sent.
type fakeCard struct {
	answers [][]byte
	sent    []sent
}

func (f *fakeCard) session() *session { return &session{tx: f.transmit} }

func (f *fakeCard) transmit(apdu []byte) ([]byte, error) {
	f.sent = append(f.sent, sent{buf: apdu, atSend: bytes.Clone(apdu)})
	if len(f.answers) == 0 {
		return nil, errors.New("no answer scripted")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}

// TestSecretCommandsWiped: VERIFY, CHANGE REFERENCE DATA and RESET RETRY
// COUNTER carry the PIN and PUK blocks, FF-padded, in the APDU handed to
// PC/SC, and that buffer is zero once the command returns; the caller's
// Secret is only read.
func TestSecretCommandsWiped(t *testing.T) {
	pin, newPIN, puk := secret("123456"), secret("24681357"), secret("12345678")
	block := func(s string) []byte { return append([]byte(s), bytes.Repeat([]byte{0xFF}, 8-len(s))...) }
	for _, tc := range []struct {
		name string
		run  func(s *session) error
		want []byte
	}{
		{"VERIFY", func(s *session) error { return s.verifyPIN(pin) },
			append([]byte{0x00, 0x20, 0x00, 0x80, 0x08}, block("123456")...)},
		{"CHANGE REFERENCE DATA", func(s *session) error { return s.changePIN(pin, newPIN) },
			append(append([]byte{0x00, 0x24, 0x00, 0x80, 0x10}, block("123456")...), block("24681357")...)},
		{"RESET RETRY COUNTER", func(s *session) error { return s.unblockPIN(puk, newPIN) },
			append(append([]byte{0x00, 0x2C, 0x00, 0x80, 0x10}, block("12345678")...), block("24681357")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCard{answers: [][]byte{{0x90, 0x00}}}
			if err := tc.run(f.session()); err != nil {
				t.Fatal(err)
			}
			if len(f.sent) != 1 || !bytes.Equal(f.sent[0].atSend, tc.want) {
				t.Fatalf("sent % X, want % X", f.sent[0].atSend, tc.want)
			}
			if !allZero(f.sent[0].buf) {
				t.Errorf("APDU buffer not wiped after transmit: % X", f.sent[0].buf)
			}
		})
	}
	if string(pin.Bytes()) != "123456" || string(puk.Bytes()) != "12345678" {
		t.Error("the caller's secrets were changed")
	}
}

// TestRefusedSecrets: 63Cx and 6983 become typed errors with the tries
// left, for the PIN and the PUK; the buffer is wiped on refusal too.
func TestRefusedSecrets(t *testing.T) {
	f := &fakeCard{answers: [][]byte{{0x63, 0xC2}, {0x69, 0x83}, {0x63, 0xC1}}}
	s := f.session()
	var wp *cardreader.WrongPINError
	if err := s.verifyPIN(secret("123456")); !errors.As(err, &wp) || wp.Retries != 2 {
		t.Errorf("63C2: %v", err)
	}
	if err := s.verifyPIN(secret("123456")); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Errorf("6983: %v", err)
	}
	var wk *cardreader.WrongPUKError
	if err := s.unblockPIN(secret("12345678"), secret("123456")); !errors.As(err, &wk) || wk.Retries != 1 {
		t.Errorf("63C1 on RESET RETRY COUNTER: %v", err)
	}
	for _, x := range f.sent {
		if !allZero(x.buf) {
			t.Errorf("APDU buffer not wiped: % X", x.buf)
		}
	}
}

// TestProtectedManagementKeyWiped: the answer holding the PIN-protected
// management key is zero once the key is copied out.
func TestProtectedManagementKeyWiped(t *testing.T) {
	key := bytes.Repeat([]byte{0x5A}, 24)
	obj := append([]byte{0x88, 26, 0x89, 24}, key...)
	answer := append(append([]byte{0x53, byte(len(obj))}, obj...), 0x90, 0x00)
	f := &fakeCard{answers: [][]byte{answer}}
	s := f.session()
	got, err := s.protectedManagementKey()
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("key % X, %v", got, err)
	}
	if bytes.Contains(answer, key) {
		t.Errorf("answer still holds the key: % X", answer)
	}
	// None stored: the default key is the caller's to try.
	f = &fakeCard{answers: [][]byte{{0x6A, 0x82}}}
	if got, err := f.session().protectedManagementKey(); got != nil || err != nil {
		t.Errorf("no object: % X, %v", got, err)
	}
}

// rawRSA is what the card does with an RSA key: input^d mod n.
func rawRSA(k *rsa.PrivateKey, in []byte) []byte {
	m := new(big.Int).SetBytes(in)
	return new(big.Int).Exp(m, k.D, k.N).FillBytes(make([]byte, k.Size()))
}

// TestRSAEncodings: the host-side encodings, signed with raw RSA as the
// card does, verify with crypto/rsa: PKCS#1 v1.5 for each hash, PSS with
// each salt length, on moduli whose bit length is and is not 1 mod 8
// (where EMSA-PSS is one byte shorter than the modulus).
func TestRSAEncodings(t *testing.T) {
	for _, bits := range []int{2048, 1025} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			hh := h.New()
			hh.Write([]byte("sithseid"))
			digest := hh.Sum(nil)
			in, err := signInput(rand.Reader, &k.PublicKey, digest, h)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(&k.PublicKey, h, digest, rawRSA(k, in)); err != nil {
				t.Errorf("%d bits, PKCS#1 v1.5 %v: %v", bits, h, err)
			}
			for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 20} {
				opts := &rsa.PSSOptions{SaltLength: salt, Hash: h}
				in, err := signInput(rand.Reader, &k.PublicKey, digest, opts)
				if bits == 1025 && h == crypto.SHA512 && salt == rsa.PSSSaltLengthEqualsHash {
					// 128-byte EM: 64 + 64 + 2 does not fit.
					if err == nil {
						t.Error("PSS over an EM too short: no error")
					}
					continue
				}
				if err != nil {
					t.Fatalf("%d bits, PSS %v salt %d: %v", bits, h, salt, err)
				}
				verify := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h}
				if err := rsa.VerifyPSS(&k.PublicKey, h, digest, rawRSA(k, in), verify); err != nil {
					t.Errorf("%d bits, PSS %v salt %d: %v", bits, h, salt, err)
				}
			}
		}
	}
	k, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := signInput(rand.Reader, &k.PublicKey, []byte("short"), crypto.SHA256); err == nil {
		t.Error("a digest of the wrong length was encoded")
	}
}

// TestECDSAInput: the digest goes to the card as ECDSA takes it, cut to
// the order's length.
func TestECDSAInput(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d512 := sha512.Sum512([]byte("x"))
	in, err := signInput(rand.Reader, &k.PublicKey, d512[:], crypto.SHA512)
	if err != nil || !bytes.Equal(in, d512[:32]) {
		t.Errorf("SHA-512 digest for P-256: % X, %v", in, err)
	}
	d256 := sha256.Sum256([]byte("x"))
	if in, _ := signInput(rand.Reader, &k.PublicKey, d256[:], crypto.SHA256); !bytes.Equal(in, d256[:]) {
		t.Errorf("SHA-256 digest for P-256: % X", in)
	}
}

// TestGeneralAuthenticate: the command's template and the signature taken
// out of the answer, chained over two APDUs for a 2048-bit input.
func TestGeneralAuthenticate(t *testing.T) {
	input := bytes.Repeat([]byte{0x42}, 256)
	sig := bytes.Repeat([]byte{0x17}, 256)
	answer := append(append([]byte{0x7C, 0x82, 0x01, 0x04, 0x82, 0x82, 0x01, 0x00}, sig...), 0x90, 0x00)
	f := &fakeCard{answers: [][]byte{{0x90, 0x00}, answer}}
	got, err := f.session().sign(algRSA2048, 0x9A, input)
	if err != nil || !bytes.Equal(got, sig) {
		t.Fatalf("signature %d bytes, %v", len(got), err)
	}
	var data []byte
	for _, x := range f.sent {
		data = append(data, x.atSend[5:5+int(x.atSend[4])]...)
	}
	want := append([]byte{0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00}, input...)
	if !bytes.Equal(data, want) || f.sent[0].atSend[0] != 0x10 || f.sent[1].atSend[0] != 0x00 {
		t.Errorf("command data % X", data[:12])
	}
}
