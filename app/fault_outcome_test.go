package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// clientCertServer is an HTTPS server that requires a client certificate
// (any: tls-check's handshake with the card's key is what is pulled) and
// answers 200 with the certificate's subject, and the roots that trust it.
func clientCertServer(t *testing.T) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, r.TLS.PeerCertificates[0].Subject)
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	ts.Config.ErrorLog = nil
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return ts, roots
}

// pivCertTags are the PIV certificate objects by slot: 9A, 9C, 9D, 9E
// and the retired key slots 82–95 (SP 800-73-4 Part 1 Table 3).
var pivCertTags = func() map[string]int {
	m := map[string]int{"9a": 0x5FC105, "9c": 0x5FC10A, "9d": 0x5FC10B, "9e": 0x5FC101}
	for i := 0; i < 20; i++ {
		m[fmt.Sprintf("%02x", 0x82+i)] = 0x5FC10D + i
	}
	return m
}()

// TestFaultRemoveExpiredPulledEveryAPDU pulls the card at every APDU of
// `cert remove-expired` (every certificate of the card expired, the
// login one confirmed), in both drop modes, as TestFaultCardPulledEveryAPDU
// does for the other operations. A pull between two removals leaves the
// card with exactly the certificates the operation reported removed gone
// (one more when it says the outcome of the last one is unknown). A kind
// that cannot remove certificates refuses (ErrRemovalUnsupported) with
// nothing changed, pulled or not.
func TestFaultRemoveExpiredPulledEveryAPDU(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		f := setup(t, k, testpki.CardSpec{Variant: testpki.Expired})
		card := f.card
		remove := func(ctx context.Context, svc *app.Service) ([]string, error) {
			return svc.RemoveExpired(ctx, app.Selector{}, app.RemoveOptions{ConfirmLogin: true}, pinPrompt(card.PIN))
		}
		op := pulledOp{name: "remove-expired"}
		if !k.Remove {
			op.run = func(ctx context.Context, svc *app.Service) error {
				_, err := remove(ctx, svc)
				if errors.Is(err, cardreader.ErrRemovalUnsupported) {
					return nil
				}
				if err == nil {
					return errors.New("removal succeeded on a kind that cannot remove")
				}
				return err
			}
			op.happened = func() (bool, bool) { return true, card.State.PINIs([]byte(card.PIN)) }
			op.changes = k.Backend == cardreader.BackendPKCS11 // the module is asked to delete
			t.Run(op.name, func(t *testing.T) { pullEveryAPDU(t, f, k, op) })
			return
		}
		saved := map[int][]byte{} // the expired ones, by tag
		present := map[int]bool{} // every certificate object at the start
		for _, tag := range pivCertTags {
			present[tag] = card.State.HasObject(tag)
		}
		st, err := f.service(t).Status(context.Background(), app.StatusOptions{})
		if err != nil || len(st.Cards) != 1 {
			t.Fatalf("status: %+v %v", st, err)
		}
		for _, c := range st.Cards[0].Certificates {
			if tag, ok := pivCertTags[c.ID]; ok && time.Now().After(c.NotAfter) {
				saved[tag] = card.State.Object(tag)
			}
		}
		if len(saved) < 2 {
			t.Fatalf("%d expired certificates on the card, want several", len(saved))
		}
		var lastRemoved []string
		var lastErr error
		op.run = func(ctx context.Context, svc *app.Service) error {
			lastRemoved, lastErr = remove(ctx, svc)
			return lastErr
		}
		op.happened = func() (bool, bool) {
			missing := 0
			for _, tag := range pivCertTags {
				if present[tag] && !card.State.HasObject(tag) {
					if saved[tag] == nil {
						return false, false // a certificate that had not expired
					}
					missing++
				}
			}
			ok := missing == len(lastRemoved) || errors.Is(lastErr, app.ErrOutcomeUnknown) && missing == len(lastRemoved)+1
			return missing == len(saved), ok
		}
		op.undo = func(context.Context, *app.Service) error {
			for tag, b := range saved {
				if !card.State.HasObject(tag) {
					if err := card.State.RestoreObject(tag, b); err != nil {
						return err
					}
				}
			}
			return nil
		}
		op.changes = true
		t.Run(op.name, func(t *testing.T) { pullEveryAPDU(t, f, k, op) })
	})
}
