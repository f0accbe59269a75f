package piv

// sithseid patch: tests that PINs and PUKs leave no copy in the request
// buffers handed to the card, using the scTransmit hook instead of a card.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
)

// sent is one request buffer handed to scTransmit: buf is the buffer itself
// (checked after the call returns), atSend a copy taken while it was sent.
type sent struct {
	buf    []byte
	atSend []byte
}

// recordTransmit replaces scTransmit for the test. reply answers each
// request; nil answers 90 00 with no data.
func recordTransmit(t *testing.T, reply func(req []byte) (bool, []byte, error)) *[]sent {
	t.Helper()
	var log []sent
	old := scTransmit
	scTransmit = func(_ *scTx, req []byte) (bool, []byte, error) {
		log = append(log, sent{buf: req, atSend: bytes.Clone(req)})
		if reply != nil {
			return reply(req)
		}
		return false, nil, nil
	}
	t.Cleanup(func() { scTransmit = old })
	return &log
}

func testYubiKey() *YubiKey {
	return &YubiKey{tx: &scTx{}, rand: rand.Reader, version: &version{5, 4, 3}}
}

func isZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// pinBlock is the 0xFF-padded 8-byte PIN block of SP 800-73-4 Part 2
// section 2.4.3.
func pinBlock(pin string) []byte {
	b := bytes.Repeat([]byte{0xff}, 8)
	copy(b, pin)
	return b
}

// checkWiped asserts that exactly one request was sent, that it carried
// header and data while it was sent, and that its buffer is zero now.
func checkWiped(t *testing.T, log []sent, header, data []byte) {
	t.Helper()
	if len(log) != 1 {
		t.Fatalf("sent %d requests, want 1", len(log))
	}
	want := append(append([]byte{}, header...), data...)
	if !bytes.Equal(log[0].atSend, want) {
		t.Fatalf("request at send = % x, want % x", log[0].atSend, want)
	}
	if !isZero(log[0].buf) {
		t.Errorf("request buffer after transmit = % x, want all zero", log[0].buf)
	}
}

func TestVerifyPINBytesWipesRequest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func([]byte) (bool, []byte, error)
	}{
		{"accepted", nil},
		{"wrong PIN", func([]byte) (bool, []byte, error) { return false, nil, &apduErr{0x63, 0xc2} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := recordTransmit(t, tc.reply)
			pin := []byte("123456")
			err := testYubiKey().VerifyPINBytes(pin)
			if tc.reply == nil && err != nil {
				t.Fatalf("VerifyPINBytes: %v", err)
			}
			if tc.reply != nil {
				var ae AuthErr
				if !errors.As(err, &ae) || ae.Retries != 2 {
					t.Fatalf("VerifyPINBytes error = %v, want AuthErr with 2 retries", err)
				}
			}
			checkWiped(t, *log, []byte{0x00, insVerify, 0x00, 0x80, 0x08}, pinBlock("123456"))
			if string(pin) != "123456" {
				t.Errorf("caller's PIN changed to %q; the caller owns it", pin)
			}
		})
	}
}

func TestSetPINBytesWipesRequest(t *testing.T) {
	log := recordTransmit(t, nil)
	if err := testYubiKey().SetPINBytes([]byte("123456"), []byte("87654321")); err != nil {
		t.Fatalf("SetPINBytes: %v", err)
	}
	checkWiped(t, *log, []byte{0x00, insChangeReference, 0x00, 0x80, 0x10},
		append(pinBlock("123456"), pinBlock("87654321")...))
}

func TestUnblockBytesWipesRequest(t *testing.T) {
	log := recordTransmit(t, nil)
	if err := testYubiKey().UnblockBytes([]byte("12345678"), []byte("1234")); err != nil {
		t.Fatalf("UnblockBytes: %v", err)
	}
	checkWiped(t, *log, []byte{0x00, insResetRetry, 0x00, 0x80, 0x10},
		append(pinBlock("12345678"), pinBlock("1234")...))
}

func TestSetPUKBytesWipesRequest(t *testing.T) {
	log := recordTransmit(t, nil)
	if err := testYubiKey().SetPUKBytes([]byte("12345678"), []byte("23456789")); err != nil {
		t.Fatalf("SetPUKBytes: %v", err)
	}
	checkWiped(t, *log, []byte{0x00, insChangeReference, 0x00, 0x81, 0x10},
		append(pinBlock("12345678"), pinBlock("23456789")...))
}

func TestMetadataBytesWipesVerify(t *testing.T) {
	log := recordTransmit(t, func(req []byte) (bool, []byte, error) {
		if req[1] == insGetData {
			return false, nil, &apduErr{0x6a, 0x82} // not found
		}
		return false, nil, nil
	})
	m, err := testYubiKey().MetadataBytes([]byte("123456"))
	if err != nil || m == nil {
		t.Fatalf("MetadataBytes = %v, %v; want empty metadata", m, err)
	}
	if len(*log) != 2 {
		t.Fatalf("sent %d requests, want VERIFY and GET DATA", len(*log))
	}
	checkWiped(t, (*log)[:1], []byte{0x00, insVerify, 0x00, 0x80, 0x08}, pinBlock("123456"))
}

// TestKeyAuthPINBytesWipesVerify drives a signature through PrivateKey with
// KeyAuth.PINBytes, the path cardreader/piv's signer takes.
func TestKeyAuthPINBytesWipesVerify(t *testing.T) {
	errSign := errors.New("no card in this test")
	log := recordTransmit(t, func(req []byte) (bool, []byte, error) {
		if req[1] == insAuthenticate {
			return false, nil, errSign
		}
		return false, nil, nil
	})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pin := []byte("123456")
	priv, err := testYubiKey().PrivateKey(SlotSignature, &key.PublicKey, KeyAuth{PINBytes: pin, PINPolicy: PINPolicyAlways})
	if err != nil {
		t.Fatalf("PrivateKey: %v", err)
	}
	digest := sha256.Sum256([]byte("data"))
	if _, err := priv.(crypto.Signer).Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, errSign) {
		t.Fatalf("Sign error = %v, want the sign APDU's error", err)
	}
	if len(*log) != 2 {
		t.Fatalf("sent %d requests, want VERIFY and GENERAL AUTHENTICATE", len(*log))
	}
	checkWiped(t, (*log)[:1], []byte{0x00, insVerify, 0x00, 0x80, 0x08}, pinBlock("123456"))
	if string(pin) != "123456" {
		t.Errorf("caller's PIN changed to %q; the caller owns it", pin)
	}
}

func TestKeyAuthPINPromptIsWiped(t *testing.T) {
	log := recordTransmit(t, nil)
	var prompted []byte
	auth := KeyAuth{PINPrompt: func() ([]byte, error) {
		prompted = []byte("123456")
		return prompted, nil
	}}
	if err := auth.authTx(testYubiKey(), PINPolicyAlways); err != nil {
		t.Fatalf("authTx: %v", err)
	}
	checkWiped(t, *log, []byte{0x00, insVerify, 0x00, 0x80, 0x08}, pinBlock("123456"))
	if !isZero(prompted) {
		t.Errorf("prompted PIN after use = %q, want all zero", prompted)
	}
}

// TestTransmitSecretChained checks the wipe on every chunk of a chained
// command (ISO/IEC 7816-4 5.1.1), and that only secret APDUs are wiped.
func TestTransmitSecretChained(t *testing.T) {
	data := bytes.Repeat([]byte{0x5a}, 300)
	for _, secret := range []bool{true, false} {
		log := recordTransmit(t, nil)
		if _, err := (&scTx{}).Transmit(apdu{instruction: insVerify, data: data, secret: secret}); err != nil {
			t.Fatalf("Transmit: %v", err)
		}
		if len(*log) != 2 {
			t.Fatalf("sent %d requests, want 2 chunks", len(*log))
		}
		for i, s := range *log {
			if isZero(s.atSend) {
				t.Fatalf("chunk %d was empty when sent", i)
			}
			if got := isZero(s.buf); got != secret {
				t.Errorf("secret=%v: chunk %d wiped = %v", secret, i, got)
			}
		}
	}
}

func TestEncodePINRejects(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second []byte
	}{
		{"empty first", nil, []byte("1234")},
		{"long second", []byte("1234"), []byte("123456789")},
		{"empty second", []byte("1234"), []byte{}},
	} {
		log := recordTransmit(t, nil)
		if err := testYubiKey().SetPINBytes(tc.first, tc.second); err == nil {
			t.Errorf("%s: SetPINBytes accepted it", tc.name)
		}
		if len(*log) != 0 {
			t.Errorf("%s: sent %d requests, want none", tc.name, len(*log))
		}
	}
	if err := testYubiKey().VerifyPINBytes(nil); err == nil {
		t.Error("VerifyPINBytes accepted an empty PIN")
	}
}
