package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader"
)

func TestPINStatusFromFlags(t *testing.T) {
	for _, tt := range []struct {
		flags uint
		so    bool
		want  cardreader.PINStatus
	}{
		{0, false, cardreader.PINStatus{Retries: 3}},
		{pkcs11.CKF_USER_PIN_COUNT_LOW, false, cardreader.PINStatus{Retries: 2}},
		{pkcs11.CKF_USER_PIN_COUNT_LOW | pkcs11.CKF_USER_PIN_FINAL_TRY, false, cardreader.PINStatus{Retries: 1}},
		{pkcs11.CKF_USER_PIN_LOCKED | pkcs11.CKF_USER_PIN_COUNT_LOW, false, cardreader.PINStatus{Retries: 0, Blocked: true}},
		{pkcs11.CKF_SO_PIN_LOCKED, false, cardreader.PINStatus{Retries: 3}},
		{pkcs11.CKF_SO_PIN_FINAL_TRY, true, cardreader.PINStatus{Retries: 1}},
		{pkcs11.CKF_SO_PIN_LOCKED, true, cardreader.PINStatus{Retries: 0, Blocked: true}},
		{pkcs11.CKF_USER_PIN_LOCKED, true, cardreader.PINStatus{Retries: 3}},
	} {
		if got := pinStatusFromFlags(tt.flags, tt.so); got != tt.want {
			t.Errorf("flags %#x so=%v: %+v, want %+v", tt.flags, tt.so, got, tt.want)
		}
	}
}

func TestSlotMatches(t *testing.T) {
	long := "Alcor Micro AU9560 [Smart Card Reader Interface] (000000000) 00 00" // 67 bytes
	for _, tt := range []struct {
		desc, reader string
		want         bool
	}{
		{"Virtual PCD 00 00" + "                    ", "Virtual PCD 00 00", true},
		{"Virtual PCD 00 00", "Virtual PCD 00 01", false},
		{"Virtual PCD 00", "Virtual PCD 00 01", false},
		{long[:64], long, true},
		{"SoftHSM slot ID 0x1", "", false},
	} {
		if got := slotMatches(tt.desc, tt.reader); got != tt.want {
			t.Errorf("slotMatches(%q, %q) = %v", tt.desc, tt.reader, got)
		}
	}
}

// TestEMSAPSSEncode checks the host-side PSS padding with a software key:
// raw RSA over the encoding must verify with crypto/rsa, for a modulus
// whose bit length is and is not a multiple of 8.
func TestEMSAPSSEncode(t *testing.T) {
	for _, bits := range []int{1024, 1025} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte("x"))
		em, err := emsaPSSEncode(rand.Reader, digest[:], k.N.BitLen()-1, 32, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		sig := new(big.Int).Exp(new(big.Int).SetBytes(em), k.D, k.N).FillBytes(make([]byte, (bits+7)/8))
		if err := rsa.VerifyPSS(&k.PublicKey, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
			t.Errorf("%d bits: %v", bits, err)
		}
	}
}

func TestECDSAASN1(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("x"))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	raw := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	der, err := ecdsaASN1(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(&k.PublicKey, digest[:], der) {
		t.Error("converted signature does not verify")
	}
	if _, err := ecdsaASN1(raw[:63]); err == nil {
		t.Error("odd-length r||s accepted")
	}
}
