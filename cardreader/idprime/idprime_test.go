package idprime

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// Tests against the real PC/SC stack: a private pcscd and the virtual
// IDPrime card (internal/testkit/vcard), which implements the same wire contract
// and is checked by OpenSC on its own side.

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

// insert provisions a virtual IDPrime card in reader 0 and opens it.
func insert(t testing.TB, withSigning bool) (*rig.Card, *Card) {
	t.Helper()
	p := rig.Require(t)
	// A card put in before pcscd noticed the last one leave is never
	// powered up.
	rig.WaitAbsent(t, p.Reader(0))
	vc := p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime, WithSigning: withSigning}, vcard.RunOptions{})
	c, err := New(Options{}).Open(context.Background(), cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return vc, c.(*Card)
}

func apdus(vc *rig.Card) int64 { return vc.Server.Stats().APDUs }

func TestIdentity(t *testing.T) {
	vc, c := insert(t, true)
	ctx := context.Background()
	if c.Backend() != cardreader.BackendIDPrime || c.Reader() != vc.Reader {
		t.Errorf("Backend %q Reader %q", c.Backend(), c.Reader())
	}
	id, err := c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The chip's identity in the CPLC: fabricator, IC type, IC serial
	// number, IC batch.
	cplc := vc.State.CPLC()[3:]
	if want := "cplc:" + hex.EncodeToString(cplc[0:4]) + hex.EncodeToString(cplc[12:18]); id != want {
		t.Errorf("ID %q, want %q", id, want)
	}
	if again, _ := c.ID(ctx); again != id {
		t.Errorf("ID not stable: %q then %q", id, again)
	}
	certs, err := c.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := cardreader.IdentityFromCertificates(certs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	info := vc.State.Info()
	if ident.HSAID != testpki.DefaultHSAID || ident.HSAID != info.HSAID {
		t.Errorf("HSA-ID %q, card %q", ident.HSAID, info.HSAID)
	}
	if ident.Holder.GivenName != testpki.DefaultGivenName || ident.Holder.Surname != testpki.DefaultSurname {
		t.Errorf("holder %+v", ident.Holder)
	}
	if ident.CardNumber == "" {
		t.Error("no card number")
	}
	login, ok := ident.Login()
	if !ok || login.ID != "kxc00" {
		t.Errorf("login certificate %q %v", login.ID, ok)
	}

	// Through the cache, as the agent does on insertion.
	cache := cardreader.NewIdentityCache(0)
	got, err := cache.Identity(ctx, c, time.Now())
	if err != nil || got.HSAID != ident.HSAID {
		t.Fatalf("cached identity %+v, %v", got, err)
	}
	before := apdus(vc)
	if _, err := cache.Identity(ctx, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := apdus(vc) - before; n != 2 {
		t.Errorf("identity from the cache cost %d APDUs, want 2 (SELECT, GET DATA CPLC: the ID)", n)
	}
}

func TestCertificatesMatchCard(t *testing.T) {
	for _, withSigning := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "with-signing"}[withSigning], func(t *testing.T) {
			vc, c := insert(t, withSigning)
			certs, err := c.Certificates(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][32]byte{}
			for _, s := range vc.State.Info().Slots {
				if s.Certificate != nil {
					want[s.Slot] = sha256.Sum256(s.Certificate.Raw)
				}
			}
			if len(want) != map[bool]int{false: 1, true: 2}[withSigning] {
				t.Fatalf("card holds %d certificates", len(want))
			}
			if len(certs) != len(want) {
				t.Fatalf("read %d certificates, card holds %d", len(certs), len(want))
			}
			for _, ce := range certs {
				if sha256.Sum256(ce.Cert.Raw) != want[ce.ID] {
					t.Errorf("%s: not the certificate the card holds", ce.ID)
				}
				if ce.Label == "" {
					t.Errorf("%s: no label", ce.ID)
				}
			}
			if certs[0].ID != "kxc00" || withSigning && certs[1].ID != "ksc01" {
				t.Errorf("IDs %s…", certs[0].ID)
			}
		})
	}
}

func TestSign(t *testing.T) {
	vc, c := insert(t, true)
	ctx := context.Background()
	msg := []byte("SITHS eID")
	for _, tc := range []struct {
		name   string
		certID string
		pin    string
		opts   crypto.SignerOpts
	}{
		{"PKCS1v15 SHA-256", "kxc00", vc.PIN, crypto.SHA256},
		{"PKCS1v15 SHA-384", "kxc00", vc.PIN, crypto.SHA384},
		{"PKCS1v15 SHA-512", "kxc00", vc.PIN, crypto.SHA512},
		{"PKCS1v15 SHA-1 DigestInfo", "kxc00", vc.PIN, crypto.SHA1},
		{"PSS SHA-256 EqualsHash (TLS 1.3)", "kxc00", vc.PIN, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}},
		{"PSS SHA-384 Auto", "kxc00", vc.PIN, &rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: rsa.PSSSaltLengthAuto}},
		{"PSS SHA-512", "kxc00", vc.PIN, &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 64}},
		{"signing key, signature PIN", "ksc01", vcard.DefaultSignPIN, crypto.SHA256},
		{"signing key, PSS", "ksc01", vcard.DefaultSignPIN, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.Signer(ctx, tc.certID, secret(tc.pin))
			if err != nil {
				t.Fatal(err)
			}
			if !s.(cardreader.PSSCapable).SupportsPSS() {
				t.Error("SupportsPSS false")
			}
			hf := tc.opts.HashFunc()
			hh := hf.New()
			hh.Write(msg)
			digest := hh.Sum(nil)
			signs := vc.State.Signatures()
			sig, err := s.Sign(rand.Reader, digest, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if vc.State.Signatures() != signs+1 {
				t.Error("the card did not sign")
			}
			pub := s.Public().(*rsa.PublicKey)
			if _, ok := tc.opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, hf, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			} else {
				err = rsa.VerifyPKCS1v15(pub, hf, digest, sig)
			}
			if err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
		})
	}
	t.Run("PSS salt 20 refused before the card", func(t *testing.T) {
		s, err := c.Signer(ctx, "kxc00", secret(vc.PIN))
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(msg)
		before := apdus(vc)
		if _, err := s.Sign(rand.Reader, d[:], &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}); err == nil {
			t.Fatal("salt 20 taken")
		}
		if n := apdus(vc) - before; n != 0 {
			t.Errorf("%d APDUs", n)
		}
	})
	t.Run("the signing key wants the signature PIN", func(t *testing.T) {
		s, err := c.Signer(ctx, "ksc01", secret(vc.PIN))
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(msg)
		var we *cardreader.WrongPINError
		if _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); !errors.As(err, &we) || we.Retries != 2 {
			t.Fatalf("err = %v", err)
		}
		if n, _ := vc.State.SignPINRetries(); n != 2 {
			t.Errorf("signature PIN tries %d", n)
		}
		if p, _ := vc.State.PINRetries(); p != 3 {
			t.Errorf("identification PIN tries %d", p)
		}
	})
	t.Run("the card is reset after a sign", func(t *testing.T) {
		st, err := c.PINStatus(ctx)
		if err != nil || st.Retries != 3 {
			t.Fatalf("PIN status %+v, %v (a verified PIN would read -1)", st, err)
		}
	})
}

func TestWrongPINBlockAndUnblock(t *testing.T) {
	vc, c := insert(t, false)
	ctx := context.Background()
	for want := 2; want >= 0; want-- {
		err := c.VerifyPIN(ctx, secret("999999"))
		var we *cardreader.WrongPINError
		if want > 0 && (!errors.As(err, &we) || we.Retries != want) {
			t.Fatalf("wrong PIN: %v, want %d tries left", err, want)
		}
		if want == 0 && !errors.Is(err, cardreader.ErrPINBlocked) {
			t.Fatalf("third wrong PIN: %v", err)
		}
		if p, _ := vc.State.PINRetries(); p != want {
			t.Fatalf("card has %d tries, want %d", p, want)
		}
	}
	st, err := c.PINStatus(ctx)
	if err != nil || !st.Blocked || st.Retries != 0 {
		t.Fatalf("PINStatus %+v, %v", st, err)
	}
	// A blocked PIN is not presented at all, not even the right one.
	verifies := vc.Server.Stats().Verifies
	if err := c.VerifyPIN(ctx, secret(vc.PIN)); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Fatalf("blocked PIN: %v", err)
	}
	if err := c.ChangePIN(ctx, secret(vc.PIN), secret("246813")); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Fatalf("change of a blocked PIN: %v", err)
	}
	if n := vc.Server.Stats().Verifies - verifies; n != 0 {
		t.Errorf("%d PINs presented to a blocked PIN", n)
	}

	// Unblock: a wrong PUK costs a PUK try, the right one restores 3.
	var wp *cardreader.WrongPUKError
	if err := c.UnblockPIN(ctx, secret("87654321"), secret("246813")); !errors.As(err, &wp) || wp.Retries != 2 {
		t.Fatalf("wrong PUK: %v", err)
	}
	if st, err := c.PUKStatus(ctx); err != nil || st.Retries != 2 {
		t.Fatalf("PUKStatus %+v, %v", st, err)
	}
	if err := c.UnblockPIN(ctx, secret(vc.PUK), secret("246813")); err != nil {
		t.Fatal(err)
	}
	if p, u := vc.State.PINRetries(); p != 3 || u != 3 {
		t.Errorf("after unblock: PIN %d PUK %d tries", p, u)
	}
	if st, err := c.PINStatus(ctx); err != nil || st.Retries != 3 || st.Blocked {
		t.Errorf("PINStatus after unblock %+v, %v", st, err)
	}
	if err := c.VerifyPIN(ctx, secret("246813")); err != nil {
		t.Errorf("new PIN: %v", err)
	}
	if !vc.State.PINIs([]byte("246813")) {
		t.Error("the card does not hold the new PIN")
	}
}

func TestChangePIN(t *testing.T) {
	vc, c := insert(t, false)
	ctx := context.Background()
	if err := c.ChangePIN(ctx, secret(vc.PIN), secret("24681357")); err != nil {
		t.Fatal(err)
	}
	if !vc.State.PINIs([]byte("24681357")) {
		t.Fatal("PIN not changed")
	}
	var we *cardreader.WrongPINError
	if err := c.ChangePIN(ctx, secret(vc.PIN), secret("135246")); !errors.As(err, &we) || we.Retries != 2 {
		t.Fatalf("change with the old PIN: %v", err)
	}
	if err := c.VerifyPIN(ctx, secret("24681357")); err != nil {
		t.Fatal(err)
	}
	if p, _ := vc.State.PINRetries(); p != 3 {
		t.Errorf("%d tries after the right PIN", p)
	}
	var pe *cardreader.PINPolicyError
	before := apdus(vc)
	if err := c.ChangePIN(ctx, secret("24681357"), secret("12345")); !errors.As(err, &pe) {
		t.Fatalf("short new PIN: %v", err)
	}
	if n := apdus(vc) - before; n != 0 {
		t.Errorf("a malformed PIN cost %d APDUs", n)
	}
}

func TestSignaturePIN(t *testing.T) {
	t.Run("with-signing", func(t *testing.T) {
		vc, c := insert(t, true)
		ctx := context.Background()
		st, err := c.SignaturePINStatus(ctx)
		if err != nil || st.Retries != 3 {
			t.Fatalf("SignaturePINStatus %+v, %v", st, err)
		}
		if err := c.ChangeSignaturePIN(ctx, secret(vcard.DefaultSignPIN), secret("97531864")); err != nil {
			t.Fatal(err)
		}
		if !vc.State.SignPINIs([]byte("97531864")) || !vc.State.PINIs([]byte(vc.PIN)) {
			t.Fatal("signature PIN not changed, or the identification PIN changed")
		}
		var we *cardreader.WrongPINError
		if err := c.ChangeSignaturePIN(ctx, secret(vcard.DefaultSignPIN), secret("97531864")); !errors.As(err, &we) || we.Retries != 2 {
			t.Fatalf("wrong signature PIN: %v", err)
		}
		if st, _ := c.SignaturePINStatus(ctx); st.Retries != 2 {
			t.Errorf("status %+v", st)
		}
		if err := c.UnblockSignaturePIN(ctx, secret(vc.PUK), secret("86420975")); err != nil {
			t.Fatal(err)
		}
		if n, _ := vc.State.SignPINRetries(); n != 3 || !vc.State.SignPINIs([]byte("86420975")) {
			t.Errorf("after unblock: %d tries", n)
		}
		if p, u := vc.State.PINRetries(); p != 3 || u != 3 {
			t.Errorf("PIN %d PUK %d tries", p, u)
		}
	})
	t.Run("default card has none", func(t *testing.T) {
		vc, c := insert(t, false)
		ctx := context.Background()
		if _, err := c.SignaturePINStatus(ctx); !errors.Is(err, cardreader.ErrNoSignaturePIN) {
			t.Errorf("status: %v", err)
		}
		if err := c.ChangeSignaturePIN(ctx, secret("135791"), secret("97531864")); !errors.Is(err, cardreader.ErrNoSignaturePIN) {
			t.Errorf("change: %v", err)
		}
		if err := c.UnblockSignaturePIN(ctx, secret(vc.PUK), secret("97531864")); !errors.Is(err, cardreader.ErrNoSignaturePIN) {
			t.Errorf("unblock: %v", err)
		}
		if p, u := vc.State.PINRetries(); p != 3 || u != 3 {
			t.Errorf("PIN %d PUK %d tries", p, u)
		}
		if err := c.RemoveCertificate(ctx, "kxc00", cardreader.RemoveAuth{PIN: secret(vc.PIN)}); !errors.Is(err, cardreader.ErrRemovalUnsupported) {
			t.Errorf("remove: %v", err)
		}
	})
}

// TestPIVCardUnsupported: a PIV card is refused on its ATR, with no APDU,
// whether the caller passes the ATR or not.
func TestPIVCardUnsupported(t *testing.T) {
	p := rig.Require(t)
	rig.WaitAbsent(t, p.Reader(0))
	vc := p.InsertCard(t, 0, vcard.ProvisionOptions{}, vcard.RunOptions{})
	for _, atr := range [][]byte{nil, vc.State.ATR()} {
		before := apdus(vc)
		_, err := New(Options{}).Open(context.Background(), cardreader.Reader{Name: vc.Reader, CardPresent: true, ATR: atr})
		if !errors.Is(err, cardreader.ErrUnsupportedCard) {
			t.Errorf("ATR %X: %v", atr, err)
		}
		if n := apdus(vc) - before; n != 0 {
			t.Errorf("ATR %X: %d APDUs", atr, n)
		}
	}
	// And cardreader.Open passes it on to the next backend.
	if _, err := cardreader.Open(context.Background(), cardreader.Reader{Name: vc.Reader, CardPresent: true}, New(Options{})); !errors.Is(err, cardreader.ErrUnsupportedCard) {
		t.Errorf("cardreader.Open: %v", err)
	}
}

// TestAPDUCounts records what each operation costs on the wire (the
// benchmarks' unit) and holds the counts down.
func TestAPDUCounts(t *testing.T) {
	vc, c := insert(t, false)
	ctx := context.Background()
	digest := sha256.Sum256([]byte("count"))
	var signer crypto.Signer
	ops := []struct {
		name string
		max  int64
		run  func() error
	}{
		// Open reads, in its session, the ID and the three tries a status
		// needs (prefetch.go): SELECT, GET DATA CPLC, three empty VERIFYs.
		{"Open", 5, func() error {
			_, err := New(Options{}).Open(ctx, cardreader.Reader{Name: vc.Reader, ATR: vc.State.ATR()})
			return err
		}},
		{"ID", 2, func() error { _, err := c.ID(ctx); return err }},
		{"Certificates", 9, func() error { _, err := c.Certificates(ctx); return err }},
		{"PINStatus", 2, func() error { _, err := c.PINStatus(ctx); return err }},
		{"PUKStatus", 2, func() error { _, err := c.PUKStatus(ctx); return err }},
		{"Tries", 4, func() error { _, err := c.Tries(ctx); return err }},
		{"VerifyPIN", 3, func() error { return c.VerifyPIN(ctx, secret(vc.PIN)) }},
		{"Signer", 12, func() error {
			var err error
			signer, err = c.Signer(ctx, "kxc00", secret(vc.PIN))
			return err
		}},
		{"Sign", 5, func() error { _, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256); return err }},
		{"ChangePIN", 2, func() error { return c.ChangePIN(ctx, secret(vc.PIN), secret(vc.PIN)) }},
		{"UnblockPIN", 2, func() error { return c.UnblockPIN(ctx, secret(vc.PUK), secret(vc.PIN)) }},
	}
	for _, op := range ops {
		before := apdus(vc)
		if err := op.run(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		n := apdus(vc) - before
		t.Logf("%-12s %d APDUs", op.name, n)
		if n > op.max {
			t.Errorf("%s: %d APDUs, want at most %d", op.name, n, op.max)
		}
	}
}

// TestCardPulledMidOperation pulls the card after each APDU of each
// operation (vcard's drop fault) and checks: a typed error (ErrCardRemoved)
// within 2 s, no hang, and no PIN or PUK try lost beyond the one in flight
// (the operations present the right codes, so a try the card spends before
// comparing is given back on the match).
func TestCardPulledMidOperation(t *testing.T) {
	vc, c := insert(t, true)
	digest := sha256.Sum256([]byte("pulled"))
	pin, puk := vc.PIN, vc.PUK
	ops := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"Open", func(ctx context.Context) error {
			_, err := New(Options{}).Open(ctx, cardreader.Reader{Name: vc.Reader})
			return err
		}},
		{"ID", func(ctx context.Context) error { _, err := c.ID(ctx); return err }},
		{"Certificates", func(ctx context.Context) error { _, err := c.Certificates(ctx); return err }},
		{"PINStatus", func(ctx context.Context) error { _, err := c.PINStatus(ctx); return err }},
		{"PUKStatus", func(ctx context.Context) error { _, err := c.PUKStatus(ctx); return err }},
		{"SignaturePINStatus", func(ctx context.Context) error { _, err := c.SignaturePINStatus(ctx); return err }},
		{"VerifyPIN", func(ctx context.Context) error { return c.VerifyPIN(ctx, secret(pin)) }},
		{"ChangePIN", func(ctx context.Context) error { return c.ChangePIN(ctx, secret(pin), secret(pin)) }},
		{"ChangeSignaturePIN", func(ctx context.Context) error {
			return c.ChangeSignaturePIN(ctx, secret(vcard.DefaultSignPIN), secret(vcard.DefaultSignPIN))
		}},
		{"UnblockPIN", func(ctx context.Context) error { return c.UnblockPIN(ctx, secret(puk), secret(pin)) }},
		{"UnblockSignaturePIN", func(ctx context.Context) error {
			return c.UnblockSignaturePIN(ctx, secret(puk), secret(vcard.DefaultSignPIN))
		}},
		{"Sign", func(ctx context.Context) error {
			s, err := c.Signer(ctx, "kxc00", secret(pin))
			if err != nil {
				return err
			}
			_, err = s.Sign(rand.Reader, digest[:], crypto.SHA256)
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			vc.PullEveryAPDU(t, op.run, func(k, n int) bool { return !testing.Short() || k == 1 || k == n/2 || k == n-1 },
				func(t *testing.T, k, n int, err error, took time.Duration) {
					if took > 2*time.Second {
						t.Errorf("pulled after APDU %d/%d: error after %v", k, n, took)
					}
					if !errors.Is(err, cardreader.ErrCardRemoved) {
						t.Errorf("pulled after APDU %d/%d: %v, want ErrCardRemoved", k, n, err)
					}
					p, u := vc.State.PINRetries()
					s, _ := vc.State.SignPINRetries()
					if p < 2 || u < 2 || s < 2 {
						t.Fatalf("pulled after APDU %d/%d: PIN %d PUK %d signature PIN %d tries left", k, n, p, u, s)
					}
					if p != 3 || u != 3 || s != 3 {
						t.Logf("pulled after APDU %d/%d: PIN %d PUK %d signature PIN %d (one in flight)", k, n, p, u, s)
					}
					t.Logf("pulled after APDU %d/%d: %v in %v", k, n, err, took.Round(time.Millisecond))
				})
		})
	}
}

// TestConcurrentSigns: signatures from several goroutines on one card are
// serialised by the card (two at once would interleave their MSE and PSO).
func TestConcurrentSigns(t *testing.T) {
	vc, c := insert(t, false)
	ctx := context.Background()
	s, err := c.Signer(ctx, "kxc00", secret(vc.PIN))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 4)
	for i := range 4 {
		go func() {
			d := sha256.Sum256([]byte{byte(i)})
			sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
			if err == nil {
				err = rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, d[:], sig)
			}
			errc <- err
		}()
	}
	for range 4 {
		if err := wait.Recv(t, errc, 30*time.Second, "a signature"); err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkOperations reports APDUs and time per operation with the
// virtual card's own speed and with a SITHS card behind a USB reader
// (vcard.ProfileIDPrime).
func BenchmarkOperations(b *testing.B) {
	for _, prof := range vcard.Profiles {
		p := rig.Require(b)
		rig.WaitAbsent(b, p.Reader(0))
		vc := p.InsertCard(b, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime}, prof.Apply(vcard.RunOptions{}))
		ctx := context.Background()
		ci, err := New(Options{}).Open(ctx, cardreader.Reader{Name: vc.Reader})
		if err != nil {
			b.Fatal(err)
		}
		c := ci.(*Card)
		s, err := c.Signer(ctx, "kxc00", secret(vc.PIN))
		if err != nil {
			b.Fatal(err)
		}
		d := sha256.Sum256([]byte("bench"))
		for _, op := range []struct {
			name string
			run  func() error
		}{
			{"Open", func() error { _, err := New(Options{}).Open(ctx, cardreader.Reader{Name: vc.Reader}); return err }},
			{"ID", func() error { _, err := c.ID(ctx); return err }},
			{"Certificates", func() error { _, err := c.Certificates(ctx); return err }},
			{"PINStatus", func() error { _, err := c.PINStatus(ctx); return err }},
			{"Sign", func() error { _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); return err }},
		} {
			b.Run(op.name+"/profile="+prof.Name, func(b *testing.B) {
				before := apdus(vc)
				for range b.N {
					if err := op.run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(apdus(vc)-before)/float64(b.N), "APDUs/op")
			})
		}
		if err := vc.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}
