package opensctest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// openSCPath is Debian's OpenSC module (package opensc).
var openSCPath = testenv.OpenSCModule

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

func secret(s string) *cardreader.Secret { return cardreader.NewSecret([]byte(s)) }

// env is one virtual card in reader 0 of the private pcscd and a Backend
// on OpenSC's module.
type env struct {
	pcscd  *rig.PCSCD
	srv    *vcard.Server
	reader cardreader.Reader
	b      *pkcs11.Backend
}

func newEnv(t *testing.T, opts pkcs11.Options, run vcard.RunOptions) *env {
	return newEnvCard(t, vcard.ProvisionOptions{}, opts, run)
}

func newEnvCard(t *testing.T, prov vcard.ProvisionOptions, opts pkcs11.Options, run vcard.RunOptions) *env {
	t.Helper()
	if _, err := os.Stat(openSCPath); err != nil {
		testenv.Missing(t, "OpenSC not installed (%s)", openSCPath)
	}
	p := rig.Require(t)
	dir := t.TempDir()
	prov.Dir = dir
	if err := vcard.Provision(prov); err != nil {
		t.Fatal(err)
	}
	card, err := vcard.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	run.VPCD = p.VPCDAddr(0)
	srv := vcard.NewServer(card, run)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	opts.ModulePath = openSCPath
	b := pkcs11.New(opts)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e := &env{pcscd: p, srv: srv, reader: cardreader.Reader{Name: p.Reader(0), CardPresent: true}, b: b}
	e.waitCard(t)
	return e
}

// waitCard waits until OpenSC shows a token in the reader (pcscd sees an
// insertion 70-400 ms after the card connects).
func (e *env) waitCard(t *testing.T) *pkcs11.Card {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := e.b.Open(context.Background(), e.reader)
		if err == nil {
			return c.(*pkcs11.Card)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no token in %q: %v\npcscd log:\n%s", e.reader.Name, err, e.pcscd.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOpenSCListAndStatus(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{})
	ctx := context.Background()
	card := e.waitCard(t)
	if card.Reader() != e.reader.Name || card.Backend() != cardreader.BackendPKCS11 {
		t.Errorf("Reader %q Backend %q", card.Reader(), card.Backend())
	}
	id, err := card.ID(ctx)
	if err != nil || id == "" {
		t.Fatalf("ID = %q, %v", id, err)
	}
	t.Logf("OpenSC token: %+v, ID %q, module %q", card.Token(), id, e.b.ModuleInfo().ManufacturerID)
	certs, err := card.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		t.Logf("cert %s %q %s", c.ID, c.Label, c.Cert.Subject)
	}
	if len(certs) != 4 {
		t.Errorf("%d certificates, want the card's 4", len(certs))
	}
	st, err := card.PINStatus(ctx)
	if err != nil || st != (cardreader.PINStatus{Retries: 3}) {
		t.Errorf("PINStatus = %+v, %v", st, err)
	}
	if _, err := card.PUKStatus(ctx); !errors.Is(err, cardreader.ErrNoPUK) {
		t.Errorf("PUKStatus = %v, want ErrNoPUK (OpenSC offers no SO login on PIV)", err)
	}
	cards, err := e.b.Cards(ctx)
	if err != nil || len(cards) != 1 || cards[0].Reader() != e.reader.Name {
		t.Errorf("Cards = %v, %v", cards, err)
	}
	if _, err := e.b.Open(ctx, cardreader.Reader{Name: e.pcscd.Reader(1)}); !errors.Is(err, cardreader.ErrUnsupportedCard) {
		t.Errorf("Open(empty reader) = %v, want ErrUnsupportedCard", err)
	}
}

func TestOpenSCWrongPINAndLockout(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{})
	ctx := context.Background()
	card := e.waitCard(t)
	for want := 2; want >= 0; want-- {
		err := card.VerifyPIN(ctx, secret("000000"))
		var wrong *cardreader.WrongPINError
		switch {
		case errors.As(err, &wrong):
			if wrong.Retries != want {
				t.Errorf("wrong PIN: %d tries left, want %d", wrong.Retries, want)
			}
		case want == 0 && errors.Is(err, cardreader.ErrPINBlocked):
		default:
			t.Fatalf("wrong PIN (%d left) = %v", want, err)
		}
		st, err := card.PINStatus(ctx)
		if err != nil || st.Retries != want || st.Blocked != (want == 0) {
			t.Errorf("PINStatus after wrong PIN = %+v, %v; want %d", st, err, want)
		}
	}
	if err := card.VerifyPIN(ctx, secret(vcard.DefaultPIN)); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Errorf("right PIN on a blocked card = %v, want ErrPINBlocked", err)
	}
	// No PKCS#11 unblock through OpenSC on PIV: by policy (PUKAuto) ...
	if err := card.UnblockPIN(ctx, secret(vcard.DefaultPUK), secret("13572468")); !errors.Is(err, pkcs11.ErrUnblockUnsupported) || !errors.Is(err, cardreader.ErrNoPUK) {
		t.Errorf("UnblockPIN = %v, want ErrUnblockUnsupported", err)
	}
	// ... and when forced to try, OpenSC refuses the SO login.
	forced := pkcs11.New(pkcs11.Options{ModulePath: openSCPath, PUK: pkcs11.PUKIsSOPIN})
	defer forced.Close()
	fc, err := forced.Open(ctx, e.reader)
	if err != nil {
		t.Fatal(err)
	}
	err = fc.UnblockPIN(ctx, secret(vcard.DefaultPUK), secret("13572468"))
	if !errors.Is(err, pkcs11.ErrUnblockUnsupported) {
		t.Errorf("forced SO unblock = %v, want ErrUnblockUnsupported", err)
	}
	t.Logf("OpenSC C_Login(CKU_SO) on PIV: %v", err)
}

func TestOpenSCChangePIN(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{})
	ctx := context.Background()
	card := e.waitCard(t)
	var wrong *cardreader.WrongPINError
	if err := card.ChangePIN(ctx, secret("000000"), secret("24681357")); !errors.As(err, &wrong) || wrong.Retries != 2 {
		t.Fatalf("ChangePIN(wrong old) = %v, want 2 tries left", err)
	}
	if err := card.ChangePIN(ctx, secret(vcard.DefaultPIN), secret("24681357")); err != nil {
		t.Fatalf("ChangePIN = %v", err)
	}
	if st, err := card.PINStatus(ctx); err != nil || st.Retries != 3 {
		t.Errorf("PINStatus after change = %+v, %v", st, err)
	}
	if err := card.VerifyPIN(ctx, secret("24681357")); err != nil {
		t.Errorf("new PIN refused: %v", err)
	}
	if err := card.VerifyPIN(ctx, secret(vcard.DefaultPIN)); !errors.As(err, &wrong) || wrong.Retries != 2 {
		t.Errorf("old PIN = %v, want wrong PIN, 2 left", err)
	}
}

func TestOpenSCSign(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{})
	ctx := context.Background()
	card := e.waitCard(t)
	certs, err := card.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pin := secret(vcard.DefaultPIN)
	defer pin.Wipe()
	digest := sha256.Sum256([]byte("SITHS eID over OpenSC"))
	for _, c := range certs {
		s, err := card.Signer(ctx, c.ID, pin)
		if err != nil {
			t.Fatal(err)
		}
		pss := s.(cardreader.PSSCapable).SupportsPSS()
		t.Logf("cert %s: SupportsPSS %v", c.ID, pss)
		opts := []crypto.SignerOpts{crypto.SHA256}
		if pss {
			opts = append(opts, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		}
		for _, o := range opts {
			start := time.Now()
			sig, err := s.Sign(rand.Reader, digest[:], o)
			if err != nil {
				t.Fatalf("cert %s %T: %v", c.ID, o, err)
			}
			t.Logf("cert %s %T: signed in %v", c.ID, o, time.Since(start))
			pub := c.Cert.PublicKey.(*rsa.PublicKey)
			if p, ok := o.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, p)
			} else {
				err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
			}
			if err != nil {
				t.Errorf("cert %s %T: signature does not verify: %v", c.ID, o, err)
			}
		}
	}
}

func TestOpenSCRemoveCertificate(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{})
	ctx := context.Background()
	card := e.waitCard(t)
	pin := secret(vcard.DefaultPIN)
	defer pin.Wipe()
	// OpenSC 0.23 cannot delete objects on a PIV card (C_DestroyObject:
	// CKR_FUNCTION_NOT_SUPPORTED); the PIV backend removes them there.
	r, err := card.RemoveObjects(ctx, "05", cardreader.RemoveAuth{PIN: pin})
	if !errors.Is(err, pkcs11.ErrRemoveUnsupported) || r != (pkcs11.Removed{}) {
		t.Errorf("RemoveObjects = %+v, %v; want ErrRemoveUnsupported and nothing removed", r, err)
	}
	t.Logf("OpenSC on PIV, remove 05: %v", err)
	certs, err := card.Certificates(ctx)
	if err != nil || len(certs) != 4 {
		t.Errorf("after a refused removal: %d certificates, %v; want 4", len(certs), err)
	}
	var wrong *cardreader.WrongPINError
	if err := card.RemoveCertificate(ctx, "05", cardreader.RemoveAuth{PIN: secret("000000")}); !errors.As(err, &wrong) || wrong.Retries != 2 {
		t.Errorf("removal with a wrong PIN = %v, want wrong PIN, 2 left", err)
	}
}

// TestOpenSCCardPulledMidSign pulls the card while a signature is in
// flight: the signer must return ErrCardRemoved within 2 s, and the card
// object must keep saying so.
func TestOpenSCCardPulledMidSign(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{SignLatency: 3 * time.Second})
	ctx := context.Background()
	card := e.waitCard(t)
	pin := secret(vcard.DefaultPIN)
	defer pin.Wipe()
	s, err := card.Signer(ctx, "01", pin)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("pulled"))
	errc := make(chan error, 1)
	signed := e.srv.Stats().Signatures
	go func() {
		_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		errc <- err
	}()
	// Login done, the private-key operation executed and its answer held
	// for SignLatency: the signature is in flight.
	wait.For(t, 10*time.Second, "the card computing the signature", func() bool { return e.srv.Stats().Signatures > signed })
	pulled := time.Now()
	e.srv.Remove()
	select {
	case err := <-errc:
		took := time.Since(pulled)
		t.Logf("Sign returned %v after %v", err, took)
		if !errors.Is(err, cardreader.ErrCardRemoved) {
			t.Errorf("Sign with the card pulled = %v, want ErrCardRemoved", err)
		}
		if took > 2*time.Second {
			t.Errorf("took %v, want within 2 s", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Sign hangs after the card was pulled")
	}
	if _, err := card.PINStatus(ctx); !errors.Is(err, cardreader.ErrCardRemoved) {
		t.Errorf("PINStatus after removal = %v, want ErrCardRemoved", err)
	}
	// Once pcscd has seen the removal, a new Open finds no token, and
	// says the card it was asked for has gone (not that it is one no
	// backend serves).
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := e.b.Open(ctx, e.reader)
		if errors.Is(err, cardreader.ErrCardRemoved) && !errors.Is(err, cardreader.ErrUnsupportedCard) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Open 2 s after removal = %v, want no token: card removed", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Put back: the old Card stays removed (one Card is one insertion), a
	// new one works and the PIN try in flight was not lost beyond it.
	e.srv.Insert()
	again := e.waitCard(t)
	if _, err := card.PINStatus(ctx); !errors.Is(err, cardreader.ErrCardRemoved) {
		t.Errorf("old Card after reinsertion = %v, want ErrCardRemoved", err)
	}
	if st, err := again.PINStatus(ctx); err != nil || st.Retries != 3 {
		t.Errorf("PINStatus after reinsertion = %+v, %v; want 3", st, err)
	}
}

func TestOpenSCSignECDSA(t *testing.T) {
	e := newEnvCard(t, vcard.ProvisionOptions{Spec: testpki.CardSpec{Key: testpki.P256}}, pkcs11.Options{}, vcard.RunOptions{})
	ctx := context.Background()
	card := e.waitCard(t)
	certs, err := card.Certificates(ctx)
	if err != nil || len(certs) != 4 {
		t.Fatalf("%d certificates, %v", len(certs), err)
	}
	pin := secret(vcard.DefaultPIN)
	defer pin.Wipe()
	digest := sha256.Sum256([]byte("ECDSA over OpenSC"))
	for _, c := range certs {
		s, err := card.Signer(ctx, c.ID, pin)
		if err != nil {
			t.Fatal(err)
		}
		if s.(cardreader.PSSCapable).SupportsPSS() {
			t.Errorf("cert %s: an ECDSA signer claims PSS", c.ID)
		}
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("cert %s: %v", c.ID, err)
		}
		if !ecdsa.VerifyASN1(c.Cert.PublicKey.(*ecdsa.PublicKey), digest[:], sig) {
			t.Errorf("cert %s: ECDSA signature does not verify", c.ID)
		}
	}
}

// TestOpenSCWedgedModule pulls the card in the middle of a VerifyPIN.
// With pcscd 1.9.9, vpcd and OpenSC 0.23 the module then never returns
// (measured with pcscd --debug: the VERIFY fails with
// SCARD_E_NOT_TRANSACTED, OpenSC then checks presence with
// SCardGetStatusChange, and its next call waits in libpcsclite's poll for a
// reply pcscd never sends; the same for a pull while the card works on the
// VERIFY), and it stays stuck, even after reinsertion, while a pull during a signature returns CKR_DEVICE_REMOVED
// at once (TestOpenSCCardPulledMidSign). The backend must still return when the caller's context
// ends, and Close must not hang. A copy of the module is loaded so the
// stuck instance (its global lock) does not affect the other tests.
func TestOpenSCWedgedModule(t *testing.T) {
	testenv.Stat(t, openSCPath, "OpenSC's PKCS#11 module")
	mod, err := os.ReadFile(openSCPath)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "opensc-pkcs11-copy.so")
	if err := os.WriteFile(copyPath, mod, 0o700); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{})
	wb := pkcs11.New(pkcs11.Options{ModulePath: copyPath})
	c, err := wb.Open(context.Background(), e.reader)
	if err != nil {
		t.Fatal(err)
	}
	card := c.(*pkcs11.Card)
	defer func() {
		start := time.Now()
		err := wb.Close()
		t.Logf("Close of the stuck module = %v after %v", err, time.Since(start))
		if time.Since(start) > 6*time.Second {
			t.Errorf("Close hung for %v", time.Since(start))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	e.srv.SetDropAfter(1)
	start := time.Now()
	err = card.VerifyPIN(ctx, secret(vcard.DefaultPIN))
	took := time.Since(start)
	t.Logf("VerifyPIN with the card gone between APDUs = %v after %v", err, took)
	if err == nil || took > 2500*time.Millisecond {
		t.Errorf("VerifyPIN = %v after %v; want an error by the 2 s deadline", err, took)
	}
	if !errors.Is(err, cardreader.ErrCardRemoved) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("VerifyPIN = %v, want ErrCardRemoved or the deadline", err)
	}
	// Putting the card back does not unstick it (measured): the module
	// stays busy, and the Card says so by the caller's deadline.
	e.srv.Insert()
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, err := card.PINStatus(ctx2); err == nil {
		t.Log("the module recovered after reinsertion")
	} else if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, cardreader.ErrCardRemoved) {
		t.Errorf("PINStatus on the stuck module = %v", err)
	}
}

// TestOpenSCAbandonedSign gives up on a slow signature when the context
// ends: Sign returns at the deadline, the module call finishes in the
// background holding the slot, the caller may wipe its PIN at once, and the
// card works again afterwards with no PIN try lost.
func TestOpenSCAbandonedSign(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{SignLatency: 1500 * time.Millisecond})
	card := e.waitCard(t)
	pin := secret(vcard.DefaultPIN)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	s, err := card.Signer(ctx, "01", pin)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("slow"))
	start := time.Now()
	_, err = s.Sign(rand.Reader, digest[:], crypto.SHA256)
	took := time.Since(start)
	pin.Wipe() // the caller is done with its PIN; the login in flight has its own copy
	if !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Fatalf("Sign = %v after %v, want DeadlineExceeded at about 500 ms", err, took)
	}
	// The slot is busy until the card answers; then everything works.
	bg := context.Background()
	st, err := card.PINStatus(bg)
	if err != nil || st.Retries != 3 {
		t.Errorf("PINStatus after an abandoned sign = %+v, %v; want 3 tries", st, err)
	}
	if waited := time.Since(start); waited < 1200*time.Millisecond {
		t.Errorf("PINStatus ran after %v, while the abandoned sign still held the slot", waited)
	}
}

// Closing the backend while an abandoned signature is still in the module
// waits for it, and a card of the closed backend is refused before it
// reaches the module: a call into a finalised OpenSC crashed the process
// (a SIGSEGV in C_GetSlotList at a test's cleanup).
func TestOpenSCCloseWaitsForAbandonedCall(t *testing.T) {
	e := newEnv(t, pkcs11.Options{}, vcard.RunOptions{SignLatency: 1500 * time.Millisecond})
	card := e.waitCard(t)
	pin := secret(vcard.DefaultPIN)
	defer pin.Wipe()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s, err := card.Signer(ctx, "01", pin)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("closed under"))
	start := time.Now()
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sign = %v, want DeadlineExceeded", err)
	}
	if err := e.b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took < 1200*time.Millisecond {
		t.Errorf("Close returned after %v, before the abandoned signature could have ended", took)
	}
	// The card the closed backend opened refuses further work cleanly.
	if _, err := card.PINStatus(context.Background()); !errors.Is(err, pkcs11.ErrClosed) {
		t.Errorf("PINStatus after Close = %v, want ErrClosed", err)
	}
}
