package mtls_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
)

// inspectingProxy answers CONNECT, then terminates TLS itself with a
// certificate its own CA issues for the host asked for (what a
// TLS-inspecting proxy does) and relays to the real server.
type inspectingProxy struct {
	ln          net.Listener
	intercepted atomic.Int64
}

func startInspectingProxy(t *testing.T, ca *testpki.PKI) *inspectingProxy {
	t.Helper()
	sc, err := ca.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{PrivateKey: sc.Key, Certificate: [][]byte{sc.Cert.Raw}}
	for _, c := range sc.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ip := &inspectingProxy{ln: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		down, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer down.Close()
		if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			return
		}
		ip.intercepted.Add(1)
		inner := tls.Server(down, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := inner.Handshake(); err != nil {
			return // the client refused our certificate: the point of the test
		}
		up, err := tls.Dial("tcp", r.Host, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer up.Close()
		go io.Copy(up, inner)
		io.Copy(inner, up)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ip
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
		proxy := startConnectProxy(t)
		pf, err := environment.ProxyFunc("http://"+proxy.ln.Addr().String(), noEnv)
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
		if n := proxy.tunnels.Load(); n != 1 {
			t.Errorf("%d tunnels through the proxy, want 1", n)
		}
		if n := signer.n.Load(); n != 1 {
			t.Errorf("%d signatures, want 1", n)
		}
	})

	t.Run("TLS-inspecting proxy refused", func(t *testing.T) {
		mitm := startInspectingProxy(t, newPKI(t, "inspecting-proxy"))
		pf, err := environment.ProxyFunc("http://"+mitm.ln.Addr().String(), noEnv)
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
		if n := mitm.intercepted.Load(); n == 0 {
			t.Error("the request did not go through the inspecting proxy")
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
