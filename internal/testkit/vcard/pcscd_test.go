package vcard_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestMain gives this test binary its own pcscd (socket activation, its own
// vpcd ports) before any PC/SC call.
func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

// inReader provisions a card and runs it in vpcd reader i until the test
// ends.
func inReader(t testing.TB, p *rig.PCSCD, i int, key testpki.KeyType, opts vcard.RunOptions) (*vcard.Server, string) {
	t.Helper()
	dir := t.TempDir()
	if err := vcard.Provision(vcard.ProvisionOptions{Dir: dir, Spec: testpki.CardSpec{Key: key}}); err != nil {
		t.Fatal(err)
	}
	card, err := vcard.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts.VPCD = p.VPCDAddr(i)
	srv := vcard.NewServer(card, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Server.Run did not return after cancel")
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := srv.WaitReady(wctx); err != nil {
		t.Fatalf("card not ready: %v (%+v)", err, srv.Stats())
	}
	return srv, p.Reader(i)
}

// open retries piv.Open until pcscd has noticed the card (70–400 ms after
// the connection).
func open(t testing.TB, reader string) *piv.YubiKey {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		yk, err := piv.Open(reader)
		if err == nil {
			return yk
		}
		if time.Now().After(deadline) {
			t.Fatalf("piv.Open(%q): %v", reader, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPivGoRSA(t *testing.T) {
	p := rig.Require(t)
	srv, reader := inReader(t, p, 0, testpki.RSA2048, vcard.RunOptions{})
	yk := open(t, reader)
	defer yk.Close()

	if v := yk.Version(); v.Major != 5 || v.Minor != 7 {
		t.Fatalf("version %+v", v)
	}
	serial, err := yk.Serial()
	if err != nil || serial != srv.Card().Serial() {
		t.Fatalf("serial %d, %v (card %d)", serial, err, srv.Card().Serial())
	}
	if n, err := yk.Retries(); err != nil || n != 3 {
		t.Fatalf("Retries: %d, %v", n, err)
	}
	cert, err := yk.Certificate(piv.SlotAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.SerialNumber != testpki.DefaultHSAID {
		t.Fatalf("9A subject %v", cert.Subject)
	}
	priv, err := yk.PrivateKey(piv.SlotAuthentication, cert.PublicKey, piv.KeyAuth{PIN: vcard.DefaultPIN})
	if err != nil {
		t.Fatal(err)
	}
	signer := priv.(crypto.Signer)
	digest := sha256.Sum256([]byte("SITHS login challenge"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub := cert.PublicKey.(*rsa.PublicKey)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("PKCS#1 v1.5: %v", err)
	}
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err = signer.Sign(rand.Reader, digest[:], pss)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, pss); err != nil {
		t.Fatalf("PSS: %v", err)
	}
	// 9C asks for the PIN every time; piv-go reads the policy from GET
	// METADATA and verifies before each signature.
	signCert, err := yk.Certificate(piv.SlotSignature)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := yk.PrivateKey(piv.SlotSignature, signCert.PublicKey, piv.KeyAuth{PIN: vcard.DefaultPIN})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sig, err = sp.(crypto.Signer).Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(signCert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
			t.Fatal(err)
		}
	}
	// The personal-number pair in the retired slots.
	slot82, _ := piv.RetiredKeyManagementSlot(0x82)
	pn, err := yk.Certificate(slot82)
	if err != nil || pn.Subject.SerialNumber != testpki.DefaultPersonalNumber {
		t.Fatalf("82: %v %v", pn, err)
	}

	// The PIN-protected management key (piv-go Metadata) opens key
	// generation.
	md, err := yk.Metadata(vcard.DefaultPIN)
	if err != nil || md.ManagementKey == nil {
		t.Fatalf("Metadata: %+v %v", md, err)
	}
	gen, err := yk.GenerateKey(*md.ManagementKey, piv.SlotKeyManagement, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyOnce, TouchPolicy: piv.TouchPolicyNever})
	if err != nil {
		t.Fatal(err)
	}
	ki, err := yk.KeyInfo(piv.SlotKeyManagement)
	if err != nil || !ki.PublicKey.(*ecdsa.PublicKey).Equal(gen) || ki.Origin != piv.OriginGenerated {
		t.Fatalf("KeyInfo: %+v %v", ki, err)
	}
	if _, err := yk.GenerateKey(make([]byte, 24), piv.SlotCardAuthentication, piv.Key{Algorithm: piv.AlgorithmEC256, PINPolicy: piv.PINPolicyNever, TouchPolicy: piv.TouchPolicyNever}); err == nil {
		t.Fatal("GenerateKey with a wrong management key succeeded")
	}
	if st := srv.Stats(); st.Signatures != 4 || st.APDUs < 20 || !st.Present {
		t.Fatalf("stats %+v", st)
	}
}

func TestPivGoECDSA(t *testing.T) {
	p := rig.Require(t)
	_, reader := inReader(t, p, 1, testpki.P256, vcard.RunOptions{})
	yk := open(t, reader)
	defer yk.Close()
	cert, err := yk.Certificate(piv.SlotAuthentication)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("9A key %T", cert.PublicKey)
	}
	priv, err := yk.PrivateKey(piv.SlotAuthentication, pub, piv.KeyAuth{PIN: vcard.DefaultPIN})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("SITHS"))
	sig, err := priv.(crypto.Signer).Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("ECDSA signature does not verify")
	}
}

// TestRemoveMidUse pulls the card under an open piv-go handle: the client
// gets an error (not a hang), and after re-insertion the card's state is as
// it was, including a wrong-PIN try spent before the pull.
func TestRemoveMidUse(t *testing.T) {
	p := rig.Require(t)
	srv, reader := inReader(t, p, 0, testpki.RSA2048, vcard.RunOptions{})
	yk := open(t, reader)
	err := yk.VerifyPIN("999999")
	var ae piv.AuthErr
	if !errors.As(err, &ae) || ae.Retries != 2 {
		t.Fatalf("wrong PIN: %v", err)
	}
	srv.Remove()
	done := make(chan error, 1)
	go func() { _, err := yk.Certificate(piv.SlotAuthentication); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read a certificate from a removed card")
		}
		t.Logf("client error after removal: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("client hangs after removal")
	}
	yk.Close()
	waitStats(t, srv, func(s vcard.Stats) bool { return !s.Present && s.Removed == 1 })
	reinsert(t, srv)
	yk = open(t, reader)
	defer yk.Close()
	if n, err := yk.Retries(); err != nil || n != 2 {
		t.Fatalf("after reinsertion: %d tries, %v", n, err)
	}
	if _, err := yk.Certificate(piv.SlotAuthentication); err != nil {
		t.Fatal(err)
	}
	if err := yk.VerifyPIN(vcard.DefaultPIN); err != nil {
		t.Fatal(err)
	}
	yk.Close()

	// The drop fault: pulled right after the 3rd APDU of the next
	// transaction (SELECT, GET VERSION, then the GET DATA).
	srv.SetDropAfter(3)
	yk = open(t, reader)
	_, err = yk.Certificate(piv.SlotAuthentication)
	_, err2 := yk.Serial()
	yk.Close()
	if err2 == nil {
		t.Fatalf("card still answers after the drop (cert err %v)", err)
	}
	waitStats(t, srv, func(s vcard.Stats) bool { return s.Drops == 1 && !s.Present && !s.WantIn })
	reinsert(t, srv)
	yk = open(t, reader)
	defer yk.Close()
	if n, err := yk.Retries(); err != nil || n != 3 {
		t.Fatalf("after the drop: %d tries, %v", n, err)
	}
}

// reinsert puts the card back and waits until pcscd has powered it up: a
// piv.Open before that may connect to the card pcscd still thinks is there,
// fail in SELECT and (piv-go v2.6.0 closes only the transaction on that
// path) leak an exclusive handle that locks the reader for good.
func reinsert(t testing.TB, srv *vcard.Server) {
	t.Helper()
	srv.Insert()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatalf("card not ready: %v (%+v)", err, srv.Stats())
	}
}

func waitStats(t testing.TB, srv *vcard.Server, ok func(vcard.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(srv.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats never reached the expected state: %+v", srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkAPDURoundTrip measures one APDU (GET SERIAL) from piv-go through
// libpcsclite, pcscd and vpcd to the card and back, and reports the
// median.
func BenchmarkAPDURoundTrip(b *testing.B) {
	p := rig.Require(b)
	_, reader := inReader(b, p, 0, testpki.RSA2048, vcard.RunOptions{})
	yk := open(b, reader)
	defer yk.Close()
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := yk.Serial(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "µs-median/apdu")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "µs-p99/apdu")
}
