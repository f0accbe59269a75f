package piv

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestCardPulledMidOperation pulls the card after each APDU of each
// operation (vcard's drop fault) and checks: a typed error (ErrCardRemoved)
// within 2 s, no hang, and no PIN or PUK try lost (the operations present
// the right codes, so a try spent by a VERIFY in flight is given back).
func TestCardPulledMidOperation(t *testing.T) {
	vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
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
		{"VerifyPIN", func(ctx context.Context) error { return c.VerifyPIN(ctx, secret(pin)) }},
		{"ChangePIN", func(ctx context.Context) error { return c.ChangePIN(ctx, secret(pin), secret(pin)) }},
		{"UnblockPIN", func(ctx context.Context) error { return c.UnblockPIN(ctx, secret(puk), secret(pin)) }},
		{"Sign", func(ctx context.Context) error {
			s, err := c.Signer(ctx, "9a", secret(pin))
			if err != nil {
				return err
			}
			_, err = s.Sign(rand.Reader, digest[:], crypto.SHA256)
			return err
		}},
		{"RemoveCertificate", func(ctx context.Context) error {
			err := c.RemoveCertificate(ctx, "9d", cardreader.RemoveAuth{PIN: secret(pin)})
			if errors.Is(err, cardreader.ErrCertificateNotFound) {
				return nil // 9D is empty: the path up to the delete is what is tested
			}
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			vc.PullEveryAPDU(t, op.run, func(k, n int) bool { return !testing.Short() || k == 1 || k == n/2 },
				func(t *testing.T, k, n int, err error, took time.Duration) {
					if took > 2*time.Second {
						t.Errorf("pulled after APDU %d/%d: error after %v", k, n, took)
					}
					if !errors.Is(err, cardreader.ErrCardRemoved) {
						t.Errorf("pulled after APDU %d/%d: %v, want ErrCardRemoved", k, n, err)
					}
					if p, u := vc.State.PINRetries(); p != 3 || u != 3 {
						t.Fatalf("pulled after APDU %d/%d: PIN %d PUK %d tries left, want 3 3", k, n, p, u)
					}
					t.Logf("pulled after APDU %d/%d: %v in %v", k, n, err, took.Round(time.Millisecond))
				})
		})
	}
}

// TestServiceDown: with pcscd gone every operation returns ErrNoService,
// quickly; after pcscd is back the card works again.
func TestServiceDown(t *testing.T) {
	vc, c := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	p := rig.Require(t)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, op := range map[string]func() error{
		"Open":      func() error { _, err := New(Options{}).Open(ctx, cardreader.Reader{Name: vc.Reader}); return err },
		"ID":        func() error { _, err := c.ID(ctx); return err },
		"PINStatus": func() error { _, err := c.PINStatus(ctx); return err },
		"VerifyPIN": func() error { return c.VerifyPIN(ctx, secret(vc.PIN)) },
	} {
		start := time.Now()
		if err := op(); !errors.Is(err, cardreader.ErrNoService) {
			t.Errorf("%s with pcscd down: %v", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v", name, d)
		}
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	// The killed pcscd dropped the card's connection; the card dials the
	// new one by itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.PINStatus(ctx)
		if err == nil {
			if st.Retries != 3 {
				t.Errorf("after restart: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("card not usable after pcscd restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
