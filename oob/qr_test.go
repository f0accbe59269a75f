package oob

import (
	"errors"
	"testing"
	"time"
)

// BankID's published animated QR example (FIELD-NOTES "QR and the
// out-of-band login"): the same construction with the prefix "bankid".
const (
	bankIDToken  = "67df3917-fa0d-44e5-b327-edcc928297f8"
	bankIDSecret = "d28db9a7-4cde-429e-a983-359be676944c"
	bankIDMAC0   = "dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"
)

func TestQRPayloadBankIDVector(t *testing.T) {
	got := qrPayload("bankid", bankIDToken, bankIDSecret, 0)
	want := "bankid." + bankIDToken + ".0." + bankIDMAC0
	if got != want {
		t.Fatalf("qrPayload = %q, want %q", got, want)
	}
	q, err := parseQRPayload("bankid", got)
	if err != nil {
		t.Fatal(err)
	}
	if q.QRStartToken != bankIDToken || q.Time != 0 {
		t.Fatalf("parsed %+v", q)
	}
	// The product prefix gives the same MAC.
	p := QRPayload(bankIDToken, bankIDSecret, 0)
	if p != "sithseid."+bankIDToken+".0."+bankIDMAC0 {
		t.Fatalf("QRPayload = %q", p)
	}
	if err := VerifyQRPayload(p, bankIDSecret, 500*time.Millisecond); err != nil {
		t.Fatalf("VerifyQRPayload: %v", err)
	}
	if err := VerifyQRPayload(p, bankIDToken, 0); !errors.Is(err, ErrQRHMAC) {
		t.Fatalf("wrong secret: %v", err)
	}
}
