package oob

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
)

func TestDeviceProof(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tbs := ToBeSigned(make([]byte, 32), "Journalen", "Logga in")
	p, err := SignDevice(k, tbs)
	if err != nil {
		t.Fatal(err)
	}
	uhi, err := VerifyDevice(p, tbs)
	if err != nil || uhi != DeviceUHI(p.PublicKey) || len(uhi) != 43 {
		t.Fatalf("verify: %q %v", uhi, err)
	}
	if err := checkUHI("x", "uhi", uhi); err != nil {
		t.Fatal(err)
	}
	// Another message, a flipped signature byte: refused.
	if _, err := VerifyDevice(p, ToBeSigned(make([]byte, 32), "Journalen", "Logga in nu")); !errors.Is(err, ErrBadDeviceProof) {
		t.Fatalf("other tbs: %v", err)
	}
	bad := *p
	bad.Signature = append(Base64(nil), p.Signature...)
	bad.Signature[len(bad.Signature)-1] ^= 1
	if _, err := VerifyDevice(&bad, tbs); !errors.Is(err, ErrBadDeviceProof) {
		t.Fatalf("flipped: %v", err)
	}
	// The card's signature over the same tbs is not a device signature:
	// the domain differs.
	_, cardSig, err := SignChallenge(k, tbs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDevice(&DeviceProof{PublicKey: p.PublicKey, Signature: cardSig}, tbs); !errors.Is(err, ErrBadDeviceProof) {
		t.Fatalf("a challenge signature passed as a device proof: %v", err)
	}
	// Only P-256.
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := SignDevice(k384, tbs); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("P-384: %v", err)
	}
	spki384, _ := x509.MarshalPKIXPublicKey(&k384.PublicKey)
	m := &CompleteRequest{TransactionID: "0b7a4a8c-5c4e-4d2f-9f1e-2b1f3c4d5e6f", SignatureAlgorithm: AlgECDSASHA256, Signature: Base64{1},
		Device: &DeviceProof{PublicKey: spki384, Signature: Base64{1}}}
	if err := m.Validate(); err == nil {
		t.Fatal("a P-384 device key validated")
	}
	m.Device = p
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"x", uhi[:42], uhi + "A", "+" + uhi[1:]} {
		if checkUHI("x", "uhi", v) == nil {
			t.Errorf("uhi %q accepted", v)
		}
	}
}
