package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/nginxtest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
)

// OpenSSL names of TLS 1.2 suites for nginx's ssl_ciphers.
const (
	// cbcSHA are CBC-SHA suites only, with and without forward secrecy.
	cbcSHA = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA"
	// aead are the suites CipherSuites offers.
	aead = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
)

func startCipherNginx(t *testing.T, p *testpki.PKI, protocols []string, ciphers string, clientAuth bool) *nginxtest.Server {
	t.Helper()
	sc, err := p.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return nginxtest.Start(t, nginxtest.Options{
		ServerChain:  append([]*x509.Certificate{sc.Cert}, sc.Chain...),
		ServerKey:    sc.Key,
		ClientCAs:    []*x509.Certificate{p.Root.Cert, p.HSAPersonCA.Cert},
		NoClientAuth: !clientAuth,
		Protocols:    protocols,
		Ciphers:      ciphers,
	})
}

// A TLS 1.2 server that offers only CBC-SHA suites is refused, before the
// card signs, with ErrNoSharedCipherSuite; the same server with AEAD
// suites, or one that also speaks TLS 1.3, is fine. Both clients (mutual
// and server-authenticated) are checked against real nginx (OpenSSL).
func TestCBCOnlyServerIsRefused(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)

	cases := []struct {
		name      string
		protocols []string
		ciphers   string
		refused   bool
		protocol  string
	}{
		{"TLS 1.2 CBC-SHA only", []string{"TLSv1.2"}, cbcSHA, true, ""},
		{"TLS 1.2 AEAD", []string{"TLSv1.2"}, aead, false, "TLSv1.2"},
		{"TLS 1.2 default suites", []string{"TLSv1.2"}, "", false, "TLSv1.2"},
		{"TLS 1.3 with CBC-SHA for 1.2", []string{"TLSv1.2", "TLSv1.3"}, cbcSHA, false, "TLSv1.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, mutual := range []bool{true, false} {
				srv := startCipherNginx(t, p, tc.protocols, tc.ciphers, mutual)
				signer := &countingSigner{Signer: cred.Key}
				var c *mtls.Client
				if mutual {
					c = newClient(t, options(p, cred, signer))
				} else {
					var err error
					c, err = mtls.NewServerAuthClient(mtls.Options{Roots: p.Roots()})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(c.CloseIdleConnections)
				}
				r, err := srv.Fetch(c.HTTP)
				if tc.refused {
					if !errors.Is(err, mtls.ErrNoSharedCipherSuite) {
						t.Fatalf("mutual=%v: got %v, want ErrNoSharedCipherSuite", mutual, err)
					}
					if n := signer.n.Load(); n != 0 {
						t.Errorf("mutual=%v: the key signed %d times for a refused server", mutual, n)
					}
					continue
				}
				if err != nil {
					t.Fatalf("mutual=%v: %v", mutual, err)
				}
				if r.Status != 200 || r.Whoami.Protocol != tc.protocol {
					t.Fatalf("mutual=%v: status %d, %+v", mutual, r.Status, r.Whoami)
				}
				if tc.protocol == "TLSv1.2" && !strings.Contains(r.Whoami.Cipher, "GCM") && !strings.Contains(r.Whoami.Cipher, "CHACHA20") {
					t.Errorf("mutual=%v: negotiated %s", mutual, r.Whoami.Cipher)
				}
			}
		})
	}
}

// The same against crypto/tls as the server (a different TLS stack from
// nginx's OpenSSL): TLS 1.2 with CBC-SHA suites only is refused, AEAD is
// accepted.
func TestCBCOnlyGoServerIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		suites  []uint16
		refused bool
	}{
		{"CBC-SHA", []uint16{
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		}, true},
		{"AEAD", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: tc.suites}
			srv.StartTLS()
			defer srv.Close()
			roots := x509.NewCertPool()
			roots.AddCert(srv.Certificate())
			c, err := mtls.NewServerAuthClient(mtls.Options{Roots: roots, ServerName: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			resp, err := c.HTTP.Get(srv.URL)
			if tc.refused {
				if !errors.Is(err, mtls.ErrNoSharedCipherSuite) {
					t.Fatalf("got %v, want ErrNoSharedCipherSuite", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS12 {
				t.Errorf("TLS %+v", resp.TLS)
			}
		})
	}
}

// CipherSuites is AEAD with ECDHE only, secure by crypto/tls' own list,
// and every exported constructor's tls.Config uses exactly it.
func TestCipherSuitesAreAEADWithForwardSecrecy(t *testing.T) {
	secure := map[uint16]bool{}
	for _, s := range tls.CipherSuites() {
		secure[s.ID] = true
	}
	suites := mtls.CipherSuites()
	if len(suites) == 0 {
		t.Fatal("no suites")
	}
	for _, id := range suites {
		name := tls.CipherSuiteName(id)
		if !secure[id] || !strings.HasPrefix(name, "TLS_ECDHE_") ||
			!(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("%s is not ECDHE with an AEAD cipher", name)
		}
	}
	suites[0] = tls.TLS_RSA_WITH_AES_128_CBC_SHA
	if mtls.CipherSuites()[0] == tls.TLS_RSA_WITH_AES_128_CBC_SHA {
		t.Error("CipherSuites returned a shared slice")
	}

	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)
	mutual, err := mtls.Config(options(p, cred, cred.Key))
	if err != nil {
		t.Fatal(err)
	}
	serverAuth, err := mtls.ServerAuthConfig(mtls.Options{Roots: p.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{"Config": mutual, "ServerAuthConfig": serverAuth} {
		if !slices.Equal(cfg.CipherSuites, mtls.CipherSuites()) {
			t.Errorf("%s: CipherSuites %v", name, cfg.CipherSuites)
		}
	}
}
