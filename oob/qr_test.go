package oob

import (
	"errors"
	"fmt"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

func TestParseQRPayload(t *testing.T) {
	mac := strings.Repeat("ab", 32)
	good := []struct {
		in string
		t  int
	}{
		{"sithseid." + tok + ".0." + mac, 0},
		{"sithseid." + tok + ".7." + mac, 7},
		{"sithseid." + tok + ".30." + mac, 30},
		{"sithseid." + tok + ".180." + mac, 180},
	}
	for _, c := range good {
		q, err := ParseQRPayload(c.in)
		if err != nil || q.Time != c.t || q.QRStartToken != tok || q.String() != c.in {
			t.Errorf("ParseQRPayload(%q) = %+v, %v", c.in, q, err)
		}
	}
	bad := []string{
		"",
		"bankid." + tok + ".0." + mac,
		"SITHSEID." + tok + ".0." + mac,
		"sithseid." + strings.ToUpper(tok) + ".0." + mac,
		"sithseid." + tok[:35] + ".0." + mac,
		"sithseid." + tok + ".." + mac,
		"sithseid." + tok + ".00." + mac,
		"sithseid." + tok + ".01." + mac,
		"sithseid." + tok + ".-1." + mac,
		"sithseid." + tok + ".+1." + mac,
		"sithseid." + tok + ".181." + mac,
		"sithseid." + tok + ".1e1." + mac,
		"sithseid." + tok + ".99999999999999999999." + mac,
		"sithseid." + tok + ".0." + strings.ToUpper(mac),
		"sithseid." + tok + ".0." + mac[:62],
		"sithseid." + tok + ".0." + mac + "ab",
		"sithseid." + tok + ".0." + mac[:62] + "zz",
		"sithseid." + tok + ".0." + mac + ".",
		"sithseid." + tok + ".0." + mac + "\n",
		" sithseid." + tok + ".0." + mac,
		"sithseid.." + tok + ".0." + mac,
		"sithseid." + tok + ".0",
	}
	for _, in := range bad {
		if q, err := ParseQRPayload(in); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseQRPayload(%q) = %+v, %v; want ErrMalformed", in, q, err)
		}
	}
}

func TestVerifyQRPayloadWindow(t *testing.T) {
	const secret = "5c8e2a40-9a9d-4f67-9a5f-1d2b3c4d5e6f"
	s := time.Second
	cases := []struct {
		t       int
		elapsed time.Duration
		want    error
	}{
		{0, 0, nil},
		{0, 900 * time.Millisecond, nil},
		{3, 3*s + 400*time.Millisecond, nil},
		{4, 3*s + 400*time.Millisecond, nil}, // rounding: up to 1 s ahead
		{5, 3*s + 400*time.Millisecond, ErrQRStale},
		{10, 15 * s, nil},                         // exactly QRMaxAge behind
		{10, 15*s + time.Millisecond, ErrQRStale}, // relayed: too old
		{30, 30 * s, nil},
		{30, 35*s + 1, ErrQRStale},
		{31, 31 * s, ErrExpired}, // outside the 30 s window
		{0, -s, ErrQRStale},
	}
	for _, c := range cases {
		p := QRPayload(tok, secret, c.t)
		err := VerifyQRPayload(p, secret, c.elapsed)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("t=%d elapsed=%v: %v, want %v", c.t, c.elapsed, err, c.want)
		}
	}
	// A MAC for another t does not verify.
	q, _ := ParseQRPayload(QRPayload(tok, secret, 3))
	q.Time = 4
	if err := q.Verify(secret, 4*s); !errors.Is(err, ErrQRHMAC) {
		t.Errorf("changed t: %v, want ErrQRHMAC", err)
	}
}

// TestQRPNGDecodes renders payloads and decodes them with the real zbarimg
// (zbar-tools).
func TestQRPNGDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		testenv.Missing(t, "zbarimg not installed (apt-get install zbar-tools)")
	}
	dir := t.TempDir()
	for i, p := range []string{
		QRPayload(tok, "5c8e2a40-9a9d-4f67-9a5f-1d2b3c4d5e6f", 0),
		QRPayload(tok, "5c8e2a40-9a9d-4f67-9a5f-1d2b3c4d5e6f", 29),
		qrPayload("bankid", bankIDToken, bankIDSecret, 0),
	} {
		png, err := QRPNG(p, 256)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("qr%d.png", i))
		if err := os.WriteFile(f, png, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "--quiet", "--raw", f).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		if got := strings.TrimRight(string(out), "\n"); got != p {
			t.Errorf("zbarimg decoded %q, want %q", got, p)
		}
	}
	if _, err := QRPNG("x", 10); err == nil {
		t.Error("QRPNG accepted a 10 pixel image")
	}
}
