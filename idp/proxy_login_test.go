package idp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/proxytest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
)

// A whole login through the proxy policy names, as the app makes it (the
// lookup over server-authenticated TLS, the completion over mutual TLS with
// the card's key, both pinned to the service's root, both with
// environment.ProxyFunc): through an HTTP CONNECT proxy the relying party
// collects the user's HSA-ID; through a TLS-inspecting proxy the lookup is
// refused as such and the order is never even seen.
func TestLoginThroughProxy(t *testing.T) {
	f := newFixture(t, nil)
	base, err := url.Parse(f.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	cred := f.card.HSAAuth
	login := func(t *testing.T, proxyURL string) (*oob.Completion, error) {
		t.Helper()
		pf, err := environment.ProxyFunc(proxyURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts := mtls.Options{Roots: f.pki.Roots(), ServerName: base.Hostname(), Proxy: pf, Now: f.clock.Now}
		plain, err := mtls.NewServerAuthClient(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(plain.CloseIdleConnections)
		opts.Signer = cred.Key
		opts.Chain = append([]*x509.Certificate{cred.Cert}, cred.Chain...)
		card, err := mtls.NewClient(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(card.CloseIdleConnections)
		c, err := oob.NewClient(f.ts.URL, plain.HTTP, oob.RetryPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a := f.auth("Logga in via proxy", "https://journal.example/klar")
		tx, err := c.Lookup(ctx, oob.AutoStart{Token: a.AutoStartToken})
		if err != nil {
			return nil, err
		}
		alg, sig, err := oob.SignChallenge(cred.Key, tx.ToBeSigned())
		if err != nil {
			t.Fatal(err)
		}
		done, err := c.WithMTLS(card.HTTP).Complete(ctx, tx, alg, sig)
		if err == nil {
			cr := f.wantState(a.OrderRef, oob.StatusComplete, "")
			if cr.CompletionData == nil || cr.CompletionData.User.HSAID != f.card.Spec.HSAID {
				t.Errorf("collect: %+v, want the card's HSA-ID", cr.CompletionData)
			}
		}
		return done, err
	}

	t.Run("CONNECT", func(t *testing.T) {
		proxy := proxytest.Connect(t)
		done, err := login(t, proxy.URL.String())
		if err != nil {
			t.Fatalf("login through the proxy: %v", err)
		}
		if done.Redirect != "https://journal.example/klar" {
			t.Errorf("redirect %q", done.Redirect)
		}
		if n := proxy.Tunnels.Load(); n < 2 {
			t.Errorf("%d tunnels through the proxy, want the lookup's and the completion's", n)
		}
	})

	t.Run("TLS-inspecting proxy refused", func(t *testing.T) {
		mitm := proxytest.Inspecting(t, inspectorCert(t))
		_, err := login(t, mitm.URL.String())
		var ue *mtls.UntrustedServerError
		if !errors.As(err, &ue) || !ue.LikelyInspectingProxy {
			t.Fatalf("login through the inspecting proxy: %v, want *mtls.UntrustedServerError naming an inspecting proxy", err)
		}
		if mitm.Tunnels.Load() == 0 || mitm.Intercepted.Load() != 0 {
			t.Errorf("tunnels %d, completed interceptions %d; want >0 and 0", mitm.Tunnels.Load(), mitm.Intercepted.Load())
		}
		if !strings.Contains(err.Error(), "inspecting proxy") {
			t.Errorf("the error does not name the likely cause: %v", err)
		}
	})
}

// inspectorCert is a certificate for the test service's names from a CA of
// the proxy's own, as a TLS-inspecting proxy mints it.
func inspectorCert(t *testing.T) tls.Certificate {
	t.Helper()
	p, err := testpki.New(testpki.Options{Seed: "inspecting-proxy", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return sc.TLSCertificate()
}
