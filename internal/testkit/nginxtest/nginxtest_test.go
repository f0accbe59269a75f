package nginxtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// A tiny PKI of its own, so the harness is tested independently of
// internal/testkit/testpki: root → client CA → client; root → server.
type miniPKI struct {
	root, clientCA       *x509.Certificate
	rootKey, clientCAKey crypto.Signer
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newMiniPKI(t *testing.T) *miniPKI {
	p := &miniPKI{}
	rk, ck := newKey(t), newKey(t)
	p.rootKey, p.clientCAKey = rk, ck
	ca := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	p.root = issue(t, ca("nginxtest root"), nil, rk.Public(), rk)
	p.clientCA = issue(t, ca("nginxtest client CA"), p.root, ck.Public(), rk)
	return p
}

func (p *miniPKI) server(t *testing.T) ([]*x509.Certificate, crypto.Signer) {
	k := newKey(t)
	c := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, p.root, k.Public(), p.rootKey)
	return []*x509.Certificate{c}, k
}

func (p *miniPKI) client(t *testing.T, cn string) tls.Certificate {
	k := newKey(t)
	c := issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, p.clientCA, k.Public(), p.clientCAKey)
	return tls.Certificate{Certificate: [][]byte{c.Raw, p.clientCA.Raw}, PrivateKey: k, Leaf: c}
}

func httpClient(p *miniPKI, cert *tls.Certificate, version uint16) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	cfg := &tls.Config{RootCAs: roots, MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(0)}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func TestEchoAndResumption(t *testing.T) {
	p := newMiniPKI(t)
	chain, key := p.server(t)
	for _, tc := range []struct {
		name     string
		protos   []string
		version  uint16
		wantProt string
	}{
		{"TLS12", []string{"TLSv1.2"}, tls.VersionTLS13, "TLSv1.2"},
		{"TLS13", []string{"TLSv1.3"}, tls.VersionTLS13, "TLSv1.3"},
		{"both", nil, tls.VersionTLS12, "TLSv1.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := Start(t, Options{ServerChain: chain, ServerKey: key,
				ClientCAs: []*x509.Certificate{p.root, p.clientCA}, Protocols: tc.protos})
			cert := p.client(t, "Anna Svensson")
			c := httpClient(p, &cert, tc.version)
			for i, wantReused := range []string{".", "r", "r"} {
				r, err := srv.Fetch(c)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				w := r.Whoami
				if r.Status != 200 || w.Verify != "SUCCESS" || w.Subject != "CN=Anna Svensson" ||
					w.Issuer != "CN=nginxtest client CA" || w.Protocol != tc.wantProt || w.Reused != wantReused {
					t.Fatalf("request %d: status %d, %+v; want 200, SUCCESS, CN=Anna Svensson, %s, reused %q", i, r.Status, w, tc.wantProt, wantReused)
				}
			}
			// nginx logs after it has sent the answer: give it a moment.
			deadline := time.Now().Add(2 * time.Second)
			for strings.Count(srv.AccessLog(), "verify=SUCCESS") < 3 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := strings.Count(srv.AccessLog(), "verify=SUCCESS"); n != 3 {
				t.Errorf("access log has %d verified requests, want 3:\n%s", n, srv.AccessLog())
			}
		})
	}
}

func TestRejections(t *testing.T) {
	p := newMiniPKI(t)
	chain, key := p.server(t)
	srv := Start(t, Options{ServerChain: chain, ServerKey: key, ClientCAs: []*x509.Certificate{p.root, p.clientCA}, HideCANames: true})

	// No certificate: nginx's 496, answered 403.
	r, err := srv.Fetch(httpClient(p, nil, tls.VersionTLS13))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 403 || r.Whoami.Error == "" || r.Whoami.Verify != "NONE" {
		t.Errorf("without a certificate: %d %+v", r.Status, r.Whoami)
	}

	// A certificate from another PKI: 495, answered 403 with the reason.
	other := newMiniPKI(t)
	cert := other.client(t, "Mallory")
	r, err = srv.Fetch(httpClient(p, &cert, tls.VersionTLS13))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 403 || !strings.HasPrefix(r.Whoami.Verify, "FAILED:") {
		t.Errorf("foreign certificate: %d %+v", r.Status, r.Whoami)
	}
}

func TestStopCleansUp(t *testing.T) {
	p := newMiniPKI(t)
	chain, key := p.server(t)
	srv := Start(t, Options{ServerChain: chain, ServerKey: key, ClientCAs: []*x509.Certificate{p.root}})
	pid := srv.cmd.Process.Pid
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", srv.Addr)
	}
	if _, err := os.Stat("/proc/" + itoa(pid)); err == nil {
		t.Errorf("nginx pid %d still exists after Stop", pid)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestConfigError(t *testing.T) {
	p := newMiniPKI(t)
	chain, key := p.server(t)
	dir := t.TempDir()
	opts := Options{ServerChain: chain, ServerKey: key, ClientCAs: []*x509.Certificate{p.root}, Protocols: []string{"TLSv9"}}
	if err := writeMaterial(dir, opts); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if s, err := start(dir, port, opts); err == nil {
		s.Stop()
		t.Fatal("nginx started with ssl_protocols TLSv9")
	} else if !strings.Contains(err.Error(), "nginx -t") {
		t.Errorf("error does not say the config test failed: %v", err)
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func TestNoClientAuth(t *testing.T) {
	p := newMiniPKI(t)
	chain, key := p.server(t)
	srv := Start(t, Options{ServerChain: chain, ServerKey: key, NoClientAuth: true})
	r, err := srv.Fetch(httpClient(p, nil, tls.VersionTLS13))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Whoami.Verify != "NONE" || r.Whoami.Protocol != "TLSv1.3" {
		t.Errorf("%d %+v", r.Status, r.Whoami)
	}
}

func TestPKIOptions(t *testing.T) {
	p, err := testpki.New(testpki.Options{Seed: "nginxtest"})
	if err != nil {
		t.Fatal(err)
	}
	card, err := p.IssueCard(testpki.CardSpec{Key: testpki.P256})
	if err != nil {
		t.Fatal(err)
	}
	o := PKIOptions(t, p)
	o.Protocols = []string{"TLSv1.3"}
	srv := Start(t, o)
	cert := card.HSAAuth.TLSCertificate()
	cfg := &tls.Config{RootCAs: p.Roots(), Certificates: []tls.Certificate{cert}}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	r, err := srv.Fetch(c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Whoami.Verify != "SUCCESS" || !strings.Contains(r.Whoami.Subject, testpki.DefaultHSAID) {
		t.Errorf("%d %+v", r.Status, r.Whoami)
	}
}

// Ciphers reaches ssl_ciphers: the server negotiates the one TLS 1.2 suite
// it is given.
func TestCiphers(t *testing.T) {
	p := newMiniPKI(t)
	chain, key := p.server(t)
	srv := Start(t, Options{ServerChain: chain, ServerKey: key, NoClientAuth: true,
		Protocols: []string{"TLSv1.2"}, Ciphers: "ECDHE-ECDSA-AES128-SHA"})
	r, err := srv.Fetch(httpClient(p, nil, tls.VersionTLS13))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Whoami.Protocol != "TLSv1.2" || r.Whoami.Cipher != "ECDHE-ECDSA-AES128-SHA" {
		t.Errorf("%d %+v", r.Status, r.Whoami)
	}
}
