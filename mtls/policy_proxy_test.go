package mtls_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/proxytest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
)

// inspectorCert is a certificate for the test service's names from
// another CA, as a TLS-inspecting proxy mints it.
func inspectorCert(t *testing.T) tls.Certificate {
	t.Helper()
	sc, err := newPKI(t, "inspecting-proxy").ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{PrivateKey: sc.Key, Certificate: [][]byte{sc.Cert.Raw}}
	for _, c := range sc.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert
}

// A login's mutual TLS through the proxy policy names (environment.ProxyFunc,
// as startup gives it to app): through an HTTP CONNECT proxy it works, end to
// end (nginx sees the card's certificate, one signature); through a
// TLS-inspecting proxy it is refused as such before the card signs; and
// "direct" ignores HTTPS_PROXY.
func TestPolicyProxy(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)
	srv := startNginx(t, p, serverOpts{})
	noEnv := func(string) string { return "" }

	t.Run("CONNECT", func(t *testing.T) {
		proxy := proxytest.Connect(t)
		pf, err := environment.ProxyFunc(proxy.URL.String(), noEnv)
		if err != nil || pf == nil {
			t.Fatalf("ProxyFunc: nil %v, %v", pf == nil, err)
		}
		signer := &countingSigner{Signer: cred.Key}
		o := options(p, cred, signer)
		o.Proxy = pf
		w := fetch(t, srv, newClient(t, o))
		if !strings.Contains(w.Subject, testpki.DefaultHSAID) {
			t.Errorf("the service saw %q, not the card", w.Subject)
		}
		if n := proxy.Tunnels.Load(); n != 1 {
			t.Errorf("%d tunnels through the proxy, want 1", n)
		}
		if n := signer.n.Load(); n != 1 {
			t.Errorf("%d signatures, want 1", n)
		}
	})

	t.Run("TLS-inspecting proxy refused", func(t *testing.T) {
		mitm := proxytest.Inspecting(t, inspectorCert(t))
		pf, err := environment.ProxyFunc(mitm.URL.String(), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		signer := &countingSigner{Signer: cred.Key}
		o := options(p, cred, signer)
		o.Proxy = pf
		_, err = srv.Fetch(newClient(t, o).HTTP)
		var ue *mtls.UntrustedServerError
		if !errors.As(err, &ue) || !ue.LikelyInspectingProxy {
			t.Fatalf("error %v, want *mtls.UntrustedServerError naming an inspecting proxy", err)
		}
		if n := mitm.Tunnels.Load(); n == 0 {
			t.Error("the request did not go through the inspecting proxy")
		}
		if n := mitm.Intercepted.Load(); n != 0 {
			t.Errorf("%d handshakes with the inspecting proxy completed", n)
		}
		if n := signer.n.Load(); n != 0 {
			t.Errorf("the card signed %d times for the inspecting proxy", n)
		}
	})

	t.Run("direct beats HTTPS_PROXY", func(t *testing.T) {
		env := func(k string) string {
			if k == "HTTPS_PROXY" {
				return "http://127.0.0.1:1" // nothing listens: were it used, the request would fail
			}
			return ""
		}
		pf, err := environment.ProxyFunc(environment.ProxyDirect, env)
		if err != nil || pf != nil {
			t.Fatalf("ProxyFunc(direct) = %v, %v; want nil", pf != nil, err)
		}
		o := options(p, cred, cred.Key)
		o.Proxy = pf
		fetch(t, srv, newClient(t, o))
	})
}
