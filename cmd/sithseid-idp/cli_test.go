package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// startServe runs "serve" in-process on a free port and returns its state
// directory and URL; the server stops (as on SIGTERM) at cleanup.
func startServe(t *testing.T, extra ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--state", dir}, extra...)
	go func() { done <- run(ctx, args, &out, &errb) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "shutting down") {
				t.Errorf("no graceful shutdown in the log: %s", errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasSuffix(out.String(), "\n") {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no URL: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := strings.TrimSuffix(strings.TrimSpace(out.String()), "/")
	return dir, url
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// authenticator is the app's side, through oob.Client, with a testpki card
// of the same (default) seed as the service.
func authenticator(t *testing.T, dir, url string, cred testpki.Credential) *oob.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	tc := cred.TLSCertificate()
	mtls := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{tc}}}}
	c, err := oob.NewClient(url, plain, oob.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithMTLS(mtls)
	return c
}

type authOut struct {
	oob.AuthResponse
	AutoStartURL string `json:"autoStartUrl"`
}

func TestServeAndRP(t *testing.T) {
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	card, err := pki.IssueCard(testpki.CardSpec{})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := pki.IssueCard(testpki.CardSpec{HSAID: "SE2321000016-0099"})
	if err != nil {
		t.Fatal(err)
	}
	dir, url := startServe(t, "--revoked", strings.ToUpper(revoked.HSAAuth.Cert.SerialNumber.Text(16)))
	for _, f := range []string{"ca.pem", "rp-key", "url"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "rp-key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("rp-key mode %v", fi.Mode())
	}

	code, out, stderr := runCLI(t, "rp", "auth", "--state", dir, "--text", "Logga in i testet", "--return-url", "https://rp.example/back")
	if code != 0 {
		t.Fatalf("rp auth: %d %s", code, stderr)
	}
	var a authOut
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	as, err := oob.ParseAutoStartURL(a.AutoStartURL)
	if err != nil || as.Token != a.AutoStartToken || as.Redirect != "https://rp.example/back" {
		t.Fatalf("autoStartUrl %q: %v", a.AutoStartURL, err)
	}

	ctx := context.Background()
	app := authenticator(t, dir, url, card.HSAAuth)
	tx, err := app.Lookup(ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	if tx.RelyingParty.Name != "Journalsystemet Demo" || tx.Text != "Logga in i testet" {
		t.Fatalf("transaction %+v", tx)
	}
	alg, sig, err := oob.SignChallenge(card.HSAAuth.Key, tx.ToBeSigned())
	if err != nil {
		t.Fatal(err)
	}
	done, err := app.Complete(ctx, tx, alg, sig)
	if err != nil || done.Redirect != "https://rp.example/back" {
		t.Fatalf("complete: %v %+v", err, done)
	}
	if _, err := app.Complete(ctx, tx, alg, sig); !errors.Is(err, oob.ErrAlreadyCompleted) {
		t.Fatalf("second complete: %v", err)
	}
	if _, err := app.Lookup(ctx, as); !errors.Is(err, oob.ErrExpired) {
		t.Fatalf("replayed token: %v", err)
	}

	code, out, stderr = runCLI(t, "rp", "collect", a.OrderRef, "--state", dir, "--wait")
	if code != 0 {
		t.Fatalf("rp collect: %d %s", code, stderr)
	}
	var c oob.CollectResponse
	if err := oob.DecodeBytes([]byte(out), &c); err != nil {
		t.Fatalf("collect output %s: %v", out, err)
	}
	if c.Status != oob.StatusComplete || c.CompletionData.User.HSAID != "SE2321000016-1234" {
		t.Fatalf("collect %+v", c)
	}

	// The revoked card (--revoked, hex as openssl prints it) is refused.
	code, out, _ = runCLI(t, "rp", "auth", "--state", dir)
	if code != 0 {
		t.Fatal("rp auth failed")
	}
	json.Unmarshal([]byte(out), &a)
	bad := authenticator(t, dir, url, revoked.HSAAuth)
	tx, err = bad.Lookup(ctx, oob.AutoStart{Token: a.AutoStartToken})
	if err != nil {
		t.Fatal(err)
	}
	alg, sig, _ = oob.SignChallenge(revoked.HSAAuth.Key, tx.ToBeSigned())
	var se *oob.ServiceError
	if _, err := bad.Complete(ctx, tx, alg, sig); !errors.As(err, &se) || se.Code != oob.ErrorCodeCertificateErr || !strings.Contains(se.Details, "revoked") {
		t.Fatalf("revoked card: %v", err)
	}
	if code, out, _ := runCLI(t, "rp", "collect", "--state", dir, "--wait", a.OrderRef); code != exitFailed || !strings.Contains(out, "certificateErr") {
		t.Fatalf("collect of the refused order: %d %s", code, out)
	}

	// Cancel, then collect shows userCancel; cancelling again is an error.
	_, out, _ = runCLI(t, "rp", "auth", "--state", dir)
	json.Unmarshal([]byte(out), &a)
	if code, out, _ := runCLI(t, "rp", "cancel", "--state", dir, a.OrderRef); code != 0 || strings.TrimSpace(out) != "{}" {
		t.Fatalf("rp cancel: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "rp", "collect", "--state", dir, a.OrderRef); code != 0 || !strings.Contains(out, "userCancel") {
		t.Fatalf("collect after cancel: %d %s", code, out)
	}
	if code, _, stderr := runCLI(t, "rp", "cancel", "--state", dir, a.OrderRef); code != exitError || !strings.Contains(stderr, "410") {
		t.Fatalf("second cancel: %d %s", code, stderr)
	}
	// A wrong key is refused.
	if code, _, stderr := runCLI(t, "rp", "auth", "--state", dir, "--key", "wrong-key-0123456789"); code != exitError || !strings.Contains(stderr, "unauthorized") {
		t.Fatalf("wrong key: %d %s", code, stderr)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"rp"}, {"rp", "sign"}, {"rp", "collect"}, {"rp", "collect", "not-a-uuid"},
		{"serve", "--revoked", "xyz"}, {"serve", "extra"}, {"serve", "--no-such-flag"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "usage:") {
			t.Errorf("%q: exit %d, %q", args, code, stderr)
		}
	}
	if code, out, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(out, "exit codes:") {
		t.Errorf("--help: %d", code)
	}
}

func TestAuthnLookup(t *testing.T) {
	dir, _ := startServe(t)
	_, out, _ := runCLI(t, "rp", "auth", "--state", dir, "--text", "QR-test")
	var a authOut
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "authn", "lookup", "--state", dir, "--qr", oob.QRPayload(a.QRStartToken, a.QRStartSecret, 0))
	if code != 0 {
		t.Fatalf("lookup by QR: %d %s", code, stderr)
	}
	var l oob.LookupResponse
	if err := oob.DecodeBytes([]byte(out), &l); err != nil || l.UserVisibleText != "QR-test" {
		t.Fatalf("lookup output %s: %v", out, err)
	}
	// A payload under another secret is refused.
	if code, _, stderr := runCLI(t, "authn", "lookup", "--state", dir, "--qr", oob.QRPayload(a.QRStartToken, a.OrderRef, 0)); code != exitError || !strings.Contains(stderr, "404") {
		t.Fatalf("wrong HMAC: %d %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "authn", "lookup", "--state", dir, "--token", a.AutoStartURL); code != 0 {
		t.Fatalf("lookup by URL: %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, "rp", "cancel", "--state", dir, a.OrderRef); code != 0 {
		t.Fatal("cancel")
	}
	if code, _, stderr := runCLI(t, "authn", "lookup", "--state", dir, "--token", a.AutoStartToken); code != exitError || !strings.Contains(stderr, "410") {
		t.Fatalf("lookup of a cancelled order: %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, "authn", "lookup", "--state", dir); code != exitUsage {
		t.Fatal("lookup without a key is not a usage error")
	}
}
