package piv

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/ebfe/scard"

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
			before := apdus(vc)
			if err := op.run(context.Background()); err != nil {
				t.Fatalf("without a pull: %v", err)
			}
			need := int(apdus(vc) - before)
			ks := make([]int, 0, need)
			for k := 1; k < need; k++ {
				if testing.Short() && k != 1 && k != need/2 {
					continue
				}
				ks = append(ks, k)
			}
			for _, k := range ks {
				drops := vc.Server.Stats().Drops
				vc.Server.SetDropAfter(k)
				start := time.Now()
				errc := make(chan error, 1)
				go func() { errc <- op.run(context.Background()) }()
				var err error
				select {
				case err = <-errc:
				case <-time.After(10 * time.Second):
					t.Fatalf("pulled after APDU %d/%d: hung", k, need)
				}
				took := time.Since(start)
				vc.Server.SetDropAfter(0)
				if vc.Server.Stats().Drops == drops {
					t.Fatalf("pull after APDU %d/%d did not happen", k, need)
				}
				if took > 2*time.Second {
					t.Errorf("pulled after APDU %d/%d: error after %v", k, need, took)
				}
				if !errors.Is(err, cardreader.ErrCardRemoved) {
					t.Errorf("pulled after APDU %d/%d: %v, want ErrCardRemoved", k, need, err)
				}
				// Let pcscd see the card gone before it comes back: a card
				// back before pcscd noticed is a removal it never saw.
				waitAbsent(t, vc.Reader)
				vc.Reinsert(t)
				if p, u := vc.State.PINRetries(); p != 3 || u != 3 {
					t.Fatalf("pulled after APDU %d/%d: PIN %d PUK %d tries left, want 3 3", k, need, p, u)
				}
				t.Logf("pulled after APDU %d/%d: %v in %v", k, need, err, took.Round(time.Millisecond))
			}
		})
	}
}

// waitAbsent waits until PC/SC reports reader empty.
func waitAbsent(t testing.TB, reader string) {
	t.Helper()
	sc, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Release()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := sc.GetStatusChange(rs, time.Until(deadline)); err != nil {
			t.Fatalf("waiting for %s to be empty: %v", reader, err)
		}
		if rs[0].EventState&scard.StateEmpty != 0 {
			return
		}
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
	t.Fatalf("%s still shows a card", reader)
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
