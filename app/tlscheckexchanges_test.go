package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestTLSCheckExchanges (issue 17): tls-check on a card the service has
// seen takes the tries its prompt shows from the session that opened the
// card, verifies the PIN once before it dials, and signs the handshake
// with the certificate read with the card's identity (SignerWithCert),
// not read again. It read the tries again before the prompt and the
// certificate again for the signer (PIV: 15 APDUs; IDPrime: 24). The
// opening session reads the PIN's tries only, the count the prompt shows
// (cardreader.WithTriesOf), where it read every count (PIV 11, IDPrime
// 13; now 10 and 12).
func TestTLSCheckExchanges(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte("ok " + r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	for _, tc := range []struct {
		k     cardkind.Kind
		apdus int
	}{
		// Open (SELECT, the PIN's tries: PIV GET METADATA, IDPrime an
		// empty VERIFY), the PIN's VERIFY in a session of its own (PIV:
		// SELECT, the PIN's tries, VERIFY; IDPrime: SELECT, the PIN's
		// tries, VERIFY), and
		// the handshake's signature in its own
		// (PIV: SELECT, VERIFY, GENERAL AUTHENTICATE chained in two and
		// its GET RESPONSE; IDPrime: SELECT, the key references file,
		// VERIFY, MSE SET, PSO HASH, PSO COMPUTE DIGITAL SIGNATURE).
		{cardkind.PIV, 10},
		{cardkind.IDPrime, 12},
	} {
		t.Run(tc.k.Name, func(t *testing.T) {
			waitEmpty(t, rig.Require(t).Reader(0))
			tr := &agenttest.SyncBuffer{}
			card := tc.k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{Trace: tr})
			svc := agenttest.Service(t, tc.k)
			check := func() *app.TLSCheckReport {
				t.Helper()
				rep, err := svc.TLSCheck(context.Background(), app.TLSCheckRequest{URL: srv.URL, Roots: roots, Prompt: pinPrompt(vcard.DefaultPIN)})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Status != http.StatusOK || rep.Signatures != 1 {
					t.Fatalf("tls check: %+v", rep)
				}
				return rep
			}
			check() // the card's identity read and cached
			tr.Reset()
			before := card.Server.Stats().APDUs
			check()
			trace := tr.String()
			n := card.Server.Stats().APDUs - before
			t.Logf("tls-check on a card seen before: %d APDUs\n%s", n, trace)
			if tc.k.Name == cardkind.PIV.Name && strings.Contains(trace, "GET_DATA") {
				t.Errorf("a certificate was read again:\n%s", trace)
			}
			// The PIN's tries only, in the opening session (the VERIFY's
			// session reads them once more before it presents the PIN).
			if m := triesReads.FindAllString(trace, -1); len(m) != 2 {
				t.Errorf("%d tries read, want the PIN's twice (the opening session, the VERIFY's):\n%s", len(m), trace)
			}
			if n > int64(tc.apdus) {
				t.Errorf("tls-check: %d APDUs, want at most %d:\n%s", n, tc.apdus, trace)
			}
		})
	}
}
