package piv

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

func secret(s string) *cardreader.Secret { return cardreader.NewSecret([]byte(s)) }

// insert provisions a virtual card in reader 0 and opens it with the PIV
// backend.
func insert(t testing.TB, prov vcard.ProvisionOptions, run vcard.RunOptions, opts Options) (*rig.Card, *Card) {
	t.Helper()
	p := rig.Require(t)
	// The previous test's card may have left a moment ago: a card put in
	// before pcscd noticed the last one leave is never powered up.
	rig.WaitAbsent(t, p.Reader(0))
	vc := p.InsertCard(t, 0, prov, run)
	c, err := New(opts).Open(context.Background(), cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return vc, c.(*Card)
}

func apdus(vc *rig.Card) int64 { return vc.Server.Stats().APDUs }

func TestReadCard(t *testing.T) {
	for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
		t.Run(string(key), func(t *testing.T) {
			spec := testpki.CardSpec{Key: key, HSAID: "SE2321000016-77AB"}
			vc, c := insert(t, vcard.ProvisionOptions{Spec: spec}, vcard.RunOptions{}, Options{})
			ctx := context.Background()
			if c.Backend() != cardreader.BackendPIV || c.Reader() != vc.Reader {
				t.Errorf("Backend %q Reader %q", c.Backend(), c.Reader())
			}
			before := apdus(vc)
			id, err := c.ID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := apdus(vc) - before; n > 3 {
				t.Errorf("ID cost %d APDUs", n)
			}
			if !strings.HasPrefix(id, "guid:") && !strings.HasPrefix(id, "serial:") {
				t.Errorf("ID = %q", id)
			}
			if id2, _ := c.ID(ctx); id2 != id {
				t.Errorf("ID not stable: %q then %q", id, id2)
			}
			certs, err := c.Certificates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ce := range certs {
				ids = append(ids, ce.ID)
			}
			if strings.Join(ids, ",") != "9a,9c,82,83" {
				t.Fatalf("certificate IDs %v", ids)
			}
			// The short-APDU path (cards or readers without extended
			// lengths) reads the same certificates.
			c.shortOnly.Store(true)
			before = apdus(vc)
			short, err := c.Certificates(ctx)
			c.shortOnly.Store(false)
			if err != nil || len(short) != len(certs) {
				t.Fatalf("short APDUs: %d certificates, %v", len(short), err)
			}
			for i := range short {
				if !short[i].Cert.Equal(certs[i].Cert) {
					t.Errorf("short APDUs: certificate %s differs", short[i].ID)
				}
			}
			t.Logf("certificates: %d APDUs with short lengths", apdus(vc)-before)
			ident, err := cardreader.IdentityFromCertificates(certs, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if ident.HSAID != spec.HSAID || ident.PersonalNumber.Digits() != testpki.DefaultPersonalNumber || ident.CardNumber == "" {
				t.Errorf("identity %+v", ident)
			}
			if l, ok := ident.Login(); !ok || l.ID != "9a" {
				t.Errorf("login %q", l.ID)
			}
			for _, f := range []func(context.Context) (cardreader.PINStatus, error){c.PINStatus, c.PUKStatus} {
				st, err := f(ctx)
				if err != nil || st.Retries != 3 || st.Blocked {
					t.Errorf("status %+v, %v", st, err)
				}
			}
		})
	}
}

func TestOpenNotPIV(t *testing.T) {
	p := rig.Require(t)
	rig.WaitAbsent(t, p.Reader(1))
	_, err := New(Options{}).Open(context.Background(), cardreader.Reader{Name: p.Reader(1)})
	if !errors.Is(err, cardreader.ErrCardRemoved) && !errors.Is(err, cardreader.ErrNoCard) {
		t.Errorf("empty reader: %v", err)
	}
	_, err = New(Options{}).Open(context.Background(), cardreader.Reader{Name: "No Such Reader 00 00"})
	if !errors.Is(err, cardreader.ErrNoReader) {
		t.Errorf("unknown reader: %v", err)
	}
}

func TestPINTriesBlockUnblock(t *testing.T) {
	vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	ctx := context.Background()
	var wp *cardreader.WrongPINError
	if err := c.VerifyPIN(ctx, secret("654321")); !errors.As(err, &wp) || wp.Retries != 2 {
		t.Fatalf("wrong PIN: %v", err)
	}
	if st, _ := c.PINStatus(ctx); st.Retries != 2 {
		t.Errorf("PINStatus after a wrong PIN: %+v", st)
	}
	if err := c.VerifyPIN(ctx, secret(vc.PIN)); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	if st, _ := c.PINStatus(ctx); st.Retries != 3 {
		t.Errorf("PINStatus after the right PIN: %+v", st)
	}
	// The PIN does not stay verified for other programs after we close.
	if code := emptyVerify(t, c); code != 0x63C3 {
		t.Errorf("empty VERIFY after VerifyPIN: %04X, want 63C3 (not verified)", code)
	}
	for want := 2; want >= 0; want-- {
		err := c.VerifyPIN(ctx, secret("111222"))
		if !errors.As(err, &wp) || wp.Retries != want {
			t.Fatalf("wrong PIN: %v, want %d left", err, want)
		}
	}
	if err := c.VerifyPIN(ctx, secret("111222")); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Errorf("blocked: %v", err)
	}
	verifies := vc.Server.Stats().Verifies
	if err := c.VerifyPIN(ctx, secret(vc.PIN)); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Errorf("right PIN when blocked: %v", err)
	}
	if vc.Server.Stats().Verifies != verifies {
		t.Error("a PIN was sent to a blocked card")
	}
	if st, err := c.PINStatus(ctx); err != nil || !st.Blocked || st.Retries != 0 {
		t.Errorf("PINStatus blocked: %+v %v", st, err)
	}
	var wk *cardreader.WrongPUKError
	if err := c.UnblockPIN(ctx, secret("87654321"), secret("246813")); !errors.As(err, &wk) || wk.Retries != 2 {
		t.Fatalf("wrong PUK: %v", err)
	}
	if st, _ := c.PUKStatus(ctx); st.Retries != 2 {
		t.Errorf("PUKStatus after a wrong PUK: %+v", st)
	}
	if err := c.UnblockPIN(ctx, secret(vc.PUK), secret("246813")); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	if st, _ := c.PINStatus(ctx); st.Retries != 3 || st.Blocked {
		t.Errorf("PINStatus after unblock: %+v", st)
	}
	if err := c.VerifyPIN(ctx, secret("246813")); err != nil {
		t.Errorf("new PIN after unblock: %v", err)
	}
	// PUK blocked: three wrong PUKs, then the right one is not even tried.
	for range 3 {
		c.UnblockPIN(ctx, secret("00000000"), secret("246813"))
	}
	if err := c.UnblockPIN(ctx, secret(vc.PUK), secret("246813")); !errors.Is(err, cardreader.ErrPUKBlocked) {
		t.Errorf("blocked PUK: %v", err)
	}
	if st, _ := c.PUKStatus(ctx); !st.Blocked {
		t.Errorf("PUKStatus: %+v", st)
	}
}

// emptyVerify sends an empty VERIFY in a fresh connection and returns its
// status word.
func emptyVerify(t *testing.T, c *Card) uint16 {
	t.Helper()
	s, err := c.session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(false)
	_, err = s.do(0x00, insVerify, 0x00, refPIN, nil)
	return sw(err)
}

func TestChangePIN(t *testing.T) {
	vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	ctx := context.Background()
	var wp *cardreader.WrongPINError
	if err := c.ChangePIN(ctx, secret("999999"), secret("24681357")); !errors.As(err, &wp) || wp.Retries != 2 {
		t.Fatalf("wrong old PIN: %v", err)
	}
	if err := c.ChangePIN(ctx, secret(vc.PIN), secret("24681357")); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.PINStatus(ctx); st.Retries != 3 {
		t.Errorf("after change: %+v", st)
	}
	if err := c.VerifyPIN(ctx, secret("24681357")); err != nil {
		t.Errorf("new PIN: %v", err)
	}
	if err := c.VerifyPIN(ctx, secret(vc.PIN)); !errors.As(err, &wp) {
		t.Errorf("old PIN still works: %v", err)
	}
}

func TestPINFormatNeverSent(t *testing.T) {
	vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	ctx := context.Background()
	before := vc.Server.Stats().Verifies
	var pe *cardreader.PINPolicyError
	for _, bad := range []string{"", "12345", "123456789", "12345a"} {
		if err := c.VerifyPIN(ctx, secret(bad)); !errors.As(err, &pe) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := c.ChangePIN(ctx, secret(vc.PIN), secret("1234")); !errors.As(err, &pe) {
		t.Errorf("short new PIN: %v", err)
	}
	if vc.Server.Stats().Verifies != before {
		t.Error("malformed PINs reached the card")
	}
	if st, _ := c.PINStatus(ctx); st.Retries != 3 {
		t.Errorf("tries spent: %+v", st)
	}
}

func TestSign(t *testing.T) {
	digest := sha256.Sum256([]byte("sithseid"))
	t.Run("rsa", func(t *testing.T) {
		vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
		for _, slot := range []string{"9a", "9c", "82", "83"} {
			pin := secret(vc.PIN)
			s, err := c.Signer(context.Background(), slot, pin)
			if err != nil {
				t.Fatal(err)
			}
			if !s.(cardreader.PSSCapable).SupportsPSS() {
				t.Error("RSA signer without PSS")
			}
			pub := s.Public().(*rsa.PublicKey)
			sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatalf("%s PKCS#1 v1.5: %v", slot, err)
			}
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
				t.Errorf("%s PKCS#1 v1.5 verify: %v", slot, err)
			}
			pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
			sig, err = s.Sign(rand.Reader, digest[:], pss)
			if err != nil {
				t.Fatalf("%s PSS: %v", slot, err)
			}
			if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, pss); err != nil {
				t.Errorf("%s PSS verify: %v", slot, err)
			}
			pin.Wipe()
			if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil {
				t.Error("signed after the PIN was wiped")
			}
		}
		// Concurrent signatures on one card are serialised, not failed.
		s, err := c.Signer(context.Background(), "9a", secret(vc.PIN))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent sign: %v", err)
			}
		}
		// A wrong PIN is a typed error and costs one try.
		bad, err := c.Signer(context.Background(), "9a", secret("000111"))
		if err != nil {
			t.Fatal(err)
		}
		var wp *cardreader.WrongPINError
		if _, err := bad.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.As(err, &wp) || wp.Retries != 2 {
			t.Errorf("sign with a wrong PIN: %v", err)
		}
		if _, err := c.Signer(context.Background(), "9d", secret(vc.PIN)); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Errorf("empty slot: %v", err)
		}
	})
	t.Run("p256", func(t *testing.T) {
		vc, c := insert(t, vcard.ProvisionOptions{Spec: testpki.CardSpec{Key: testpki.P256}}, vcard.RunOptions{}, Options{})
		s, err := c.Signer(context.Background(), "9a", secret(vc.PIN))
		if err != nil {
			t.Fatal(err)
		}
		if s.(cardreader.PSSCapable).SupportsPSS() {
			t.Error("ECDSA signer claims PSS")
		}
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), digest[:], sig) {
			t.Error("ECDSA signature does not verify")
		}
	})
}

func TestRemoveCertificate(t *testing.T) {
	ctx := context.Background()
	t.Run("pin-protected key", func(t *testing.T) {
		cache := cardreader.NewIdentityCache(4)
		vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{Cache: cache})
		ident, err := cache.Identity(ctx, c, time.Now())
		if err != nil || len(ident.Certificates) != 4 {
			t.Fatalf("identity: %d certs, %v", len(ident.Certificates), err)
		}
		// Without the PIN the default key is tried and refused: the card's
		// key is a random PIN-protected one.
		if err := c.RemoveCertificate(ctx, "83", cardreader.RemoveAuth{}); !errors.Is(err, cardreader.ErrManagementKey) {
			t.Errorf("default key: %v", err)
		}
		var wp *cardreader.WrongPINError
		if err := c.RemoveCertificate(ctx, "83", cardreader.RemoveAuth{PIN: secret("909090")}); !errors.As(err, &wp) {
			t.Errorf("wrong PIN: %v", err)
		}
		if err := c.RemoveCertificate(ctx, "83", cardreader.RemoveAuth{PIN: secret(vc.PIN)}); err != nil {
			t.Fatalf("remove: %v", err)
		}
		if cache.Len() != 0 {
			t.Error("cache not invalidated")
		}
		ident, err = cache.Identity(ctx, c, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ident.Certificate("83"); ok || len(ident.Certificates) != 3 {
			t.Errorf("after removal: %d certificates", len(ident.Certificates))
		}
		if err := c.RemoveCertificate(ctx, "83", cardreader.RemoveAuth{PIN: secret(vc.PIN)}); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Errorf("second removal: %v", err)
		}
		if err := c.RemoveCertificate(ctx, "zz", cardreader.RemoveAuth{}); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Errorf("bad ID: %v", err)
		}
	})
	t.Run("default key", func(t *testing.T) {
		_, c := insert(t, vcard.ProvisionOptions{MgmtKey: "default-3des"}, vcard.RunOptions{}, Options{})
		if err := c.RemoveCertificate(ctx, "82", cardreader.RemoveAuth{}); err != nil {
			t.Fatalf("remove with the default key: %v", err)
		}
		certs, _ := c.Certificates(ctx)
		if len(certs) != 3 {
			t.Errorf("%d certificates left", len(certs))
		}
	})
	t.Run("given key", func(t *testing.T) {
		key := "0102030405060708090a0b0c0d0e0f101112131415161718"
		_, c := insert(t, vcard.ProvisionOptions{MgmtKey: key}, vcard.RunOptions{}, Options{})
		wrong := make([]byte, 24)
		if err := c.RemoveCertificate(ctx, "9c", cardreader.RemoveAuth{ManagementKey: cardreader.NewSecret(wrong)}); !errors.Is(err, cardreader.ErrManagementKey) {
			t.Errorf("wrong key: %v", err)
		}
		k := make([]byte, 24)
		for i := range k {
			k[i] = byte(i + 1)
		}
		if err := c.RemoveCertificate(ctx, "9c", cardreader.RemoveAuth{ManagementKey: cardreader.NewSecret(k)}); err != nil {
			t.Fatalf("given key: %v", err)
		}
	})
}
