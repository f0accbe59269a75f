package mtls_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/nginxtest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
)

// countingSigner counts signatures independently of mtls' own Stats.
type countingSigner struct {
	crypto.Signer
	n atomic.Int64
}

func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, digest, opts)
}

// pkcs1OnlySigner is an RSA token that cannot sign RSA-PSS, as the card
// backends' signers report through SupportsPSS.
type pkcs1OnlySigner struct {
	countingSigner
}

func (s *pkcs1OnlySigner) SupportsPSS() bool { return false }

func (s *pkcs1OnlySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := opts.(*rsa.PSSOptions); ok {
		return nil, errors.New("test: this token cannot sign RSA-PSS")
	}
	return s.countingSigner.Sign(r, digest, opts)
}

// errCardGone stands in for cardreader.ErrCardRemoved (mtls must not know
// cardreader, not even in tests).
var errCardGone = errors.New("card removed")

type removedCardSigner struct{ crypto.Signer }

func (s removedCardSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, fmt.Errorf("signing with the card: %w", errCardGone)
}

func newPKI(t testing.TB, seed string) *testpki.PKI {
	t.Helper()
	p, err := testpki.New(testpki.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func issueCard(t testing.TB, p *testpki.PKI, key testpki.KeyType) testpki.Credential {
	t.Helper()
	c, err := p.IssueCard(testpki.CardSpec{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return c.HSAAuth
}

type serverOpts struct {
	protocols   []string
	serverPKI   *testpki.PKI // nil: the client PKI
	names       []string     // server certificate names; nil: localhost, 127.0.0.1
	hideCANames bool
	clientCAs   []*x509.Certificate // nil: p's root and HSA person CA
}

// startNginx starts nginx trusting p's root and HSA person CA for client
// certificates.
func startNginx(t testing.TB, p *testpki.PKI, o serverOpts) *nginxtest.Server {
	t.Helper()
	sp := o.serverPKI
	if sp == nil {
		sp = p
	}
	names := o.names
	if names == nil {
		names = []string{"localhost", "127.0.0.1"}
	}
	cas := o.clientCAs
	if cas == nil {
		cas = []*x509.Certificate{p.Root.Cert, p.HSAPersonCA.Cert}
	}
	sc, err := sp.ServerCert(names...)
	if err != nil {
		t.Fatal(err)
	}
	return nginxtest.Start(t, nginxtest.Options{
		ServerChain: append([]*x509.Certificate{sc.Cert}, sc.Chain...),
		ServerKey:   sc.Key,
		ClientCAs:   cas,
		Protocols:   o.protocols,
		HideCANames: o.hideCANames,
	})
}

func options(p *testpki.PKI, cred testpki.Credential, signer crypto.Signer) mtls.Options {
	return mtls.Options{
		Signer: signer,
		Chain:  append([]*x509.Certificate{cred.Cert}, cred.Chain...),
		Roots:  p.Roots(),
	}
}

func newClient(t testing.TB, o mtls.Options) *mtls.Client {
	t.Helper()
	c, err := mtls.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func fetch(t testing.TB, srv *nginxtest.Server, c *mtls.Client) nginxtest.Whoami {
	t.Helper()
	r, err := srv.Fetch(c.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Whoami.Verify != "SUCCESS" {
		t.Fatalf("status %d, %+v", r.Status, r.Whoami)
	}
	return r.Whoami
}

func TestGetRSAAndECCOverTLS12And13(t *testing.T) {
	p := newPKI(t, "mtls")
	srv12 := startNginx(t, p, serverOpts{protocols: []string{"TLSv1.2"}})
	srv13 := startNginx(t, p, serverOpts{protocols: []string{"TLSv1.3"}})
	for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
		cred := issueCard(t, p, key)
		for _, tc := range []struct {
			srv  *nginxtest.Server
			want string
		}{{srv12, "TLSv1.2"}, {srv13, "TLSv1.3"}} {
			t.Run(string(key)+"/"+tc.want, func(t *testing.T) {
				signer := &countingSigner{Signer: cred.Key}
				c := newClient(t, options(p, cred, signer))
				w := fetch(t, tc.srv, c)
				if w.Protocol != tc.want {
					t.Errorf("protocol %q, want %q", w.Protocol, tc.want)
				}
				if !strings.Contains(w.Subject, testpki.DefaultHSAID) {
					t.Errorf("nginx saw subject %q, want the HSA-ID %s", w.Subject, testpki.DefaultHSAID)
				}
				if !strings.Contains(w.Issuer, testpki.HSAPersonCAName) {
					t.Errorf("nginx saw issuer %q", w.Issuer)
				}
				if n := signer.n.Load(); n != 1 {
					t.Errorf("%d signatures, want 1", n)
				}
				if st := c.Stats(); st.Signatures != 1 || st.Handshakes != 1 || st.Resumptions != 0 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

func TestRSAWithoutPSSStaysAtTLS12(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.RSA2048)

	t.Run("server with 1.2 and 1.3", func(t *testing.T) {
		srv := startNginx(t, p, serverOpts{})
		signer := &pkcs1OnlySigner{countingSigner{Signer: cred.Key}}
		c := newClient(t, options(p, cred, signer))
		if w := fetch(t, srv, c); w.Protocol != "TLSv1.2" {
			t.Errorf("protocol %q, want TLSv1.2", w.Protocol)
		}
		if n := signer.n.Load(); n != 1 {
			t.Errorf("%d PKCS#1 v1.5 signatures, want 1", n)
		}
	})

	t.Run("TLS 1.3-only server", func(t *testing.T) {
		srv := startNginx(t, p, serverOpts{protocols: []string{"TLSv1.3"}})
		signer := &pkcs1OnlySigner{countingSigner{Signer: cred.Key}}
		c := newClient(t, options(p, cred, signer))
		_, err := srv.Fetch(c.HTTP)
		var pv *mtls.ProtocolVersionError
		if !errors.As(err, &pv) || !pv.CappedForPSS || pv.MaxVersion != tls.VersionTLS12 {
			t.Fatalf("error %v (%T), want *mtls.ProtocolVersionError capped for PSS", err, err)
		}
		t.Logf("error: %v", err)
		if !strings.Contains(err.Error(), "RSA-PSS") {
			t.Errorf("message does not explain the cause: %v", err)
		}
		if n := signer.n.Load(); n != 0 {
			t.Errorf("%d signatures for a failed version negotiation", n)
		}
	})

	t.Run("MinVersion 1.3 is impossible", func(t *testing.T) {
		o := options(p, cred, &pkcs1OnlySigner{countingSigner{Signer: cred.Key}})
		o.MinVersion = tls.VersionTLS13
		if _, err := mtls.Config(o); !errors.Is(err, mtls.ErrVersionRange) {
			t.Errorf("Config: %v, want ErrVersionRange", err)
		}
	})
}

// A session costs one signature: later connections resume it, until
// ForgetSessions.
func TestOneSignaturePerSession(t *testing.T) {
	p := newPKI(t, "mtls")
	for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
		cred := issueCard(t, p, key)
		for _, proto := range []string{"TLSv1.2", "TLSv1.3"} {
			t.Run(string(key)+"/"+proto, func(t *testing.T) {
				srv := startNginx(t, p, serverOpts{protocols: []string{proto}})
				signer := &countingSigner{Signer: cred.Key}
				c := newClient(t, options(p, cred, signer))
				const n = 5
				for i := range n {
					w := fetch(t, srv, c)
					want := "r"
					if i == 0 {
						want = "."
					}
					if w.Reused != want || w.Protocol != proto {
						t.Errorf("request %d: reused %q protocol %q, want %q %s", i, w.Reused, w.Protocol, want, proto)
					}
					// A new connection each time: keep-alive would hide
					// whether resumption works.
					c.CloseIdleConnections()
				}
				if got := signer.n.Load(); got != 1 {
					t.Errorf("%d requests cost %d signatures, want 1", n, got)
				}
				if st := c.Stats(); st != (mtls.Stats{Handshakes: n, Resumptions: n - 1, Signatures: 1}) {
					t.Errorf("stats %+v", st)
				}

				c.ForgetSessions()
				if w := fetch(t, srv, c); w.Reused != "." {
					t.Errorf("after ForgetSessions: reused %q, want a full handshake", w.Reused)
				}
				if got := signer.n.Load(); got != 2 {
					t.Errorf("after ForgetSessions: %d signatures, want 2", got)
				}
				c.CloseIdleConnections()
				if w := fetch(t, srv, c); w.Reused != "r" {
					t.Errorf("the new session is not resumed: reused %q", w.Reused)
				}
			})
		}
	}
}

// ForgetSessions also closes kept-alive connections: they carry the card's
// authentication as much as a cached session does.
func TestForgetSessionsClosesIdleConnections(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)
	srv := startNginx(t, p, serverOpts{})
	signer := &countingSigner{Signer: cred.Key}
	c := newClient(t, options(p, cred, signer))
	fetch(t, srv, c)
	fetch(t, srv, c) // same connection, no handshake at all
	if st := c.Stats(); st.Handshakes != 1 {
		t.Fatalf("keep-alive not used: %+v", st)
	}
	c.ForgetSessions()
	fetch(t, srv, c)
	if got := signer.n.Load(); got != 2 {
		t.Errorf("%d signatures, want 2 (the idle connection should have been closed)", got)
	}
}

func TestInspectingProxyIsRefused(t *testing.T) {
	p := newPKI(t, "mtls")
	proxy := newPKI(t, "inspecting-proxy")
	srv := startNginx(t, p, serverOpts{serverPKI: proxy})
	cred := issueCard(t, p, testpki.P256)
	signer := &countingSigner{Signer: cred.Key}
	c := newClient(t, options(p, cred, signer))
	_, err := srv.Fetch(c.HTTP)
	var ue *mtls.UntrustedServerError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T), want *mtls.UntrustedServerError", err, err)
	}
	if !ue.LikelyInspectingProxy || ue.Host != "localhost" || !strings.Contains(ue.Issuer, testpki.FunctionCAName) {
		t.Errorf("%+v", ue)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("cause is not x509.UnknownAuthorityError: %v", err)
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "inspecting proxy") {
		t.Errorf("message does not name the likely cause: %v", err)
	}
	if n := signer.n.Load(); n != 0 {
		t.Errorf("the card signed %d times for an untrusted server", n)
	}
}

func TestServerNameIsChecked(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)

	t.Run("certificate for another host", func(t *testing.T) {
		srv := startNginx(t, p, serverOpts{names: []string{"idp.example"}})
		c := newClient(t, options(p, cred, cred.Key))
		_, err := srv.Fetch(c.HTTP)
		var ue *mtls.UntrustedServerError
		var he x509.HostnameError
		if !errors.As(err, &ue) || !errors.As(err, &he) || ue.LikelyInspectingProxy {
			t.Fatalf("error %v, want *UntrustedServerError from a HostnameError, not a proxy", err)
		}
	})

	t.Run("IP address", func(t *testing.T) {
		srv := startNginx(t, p, serverOpts{})
		url := "https://" + srv.Addr + "/"
		// No SNI for an IP address: crypto/tls does not say what was
		// dialled, so without ServerName there is nothing to check.
		c := newClient(t, options(p, cred, cred.Key))
		_, err := c.HTTP.Get(url)
		var ue *mtls.UntrustedServerError
		if !errors.As(err, &ue) {
			t.Fatalf("without ServerName: %v, want *UntrustedServerError", err)
		}
		o := options(p, cred, cred.Key)
		o.ServerName = "127.0.0.1"
		c = newClient(t, o)
		resp, err := c.HTTP.Get(url)
		if err != nil {
			t.Fatalf("with ServerName 127.0.0.1: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestClientCertificateRejected(t *testing.T) {
	p := newPKI(t, "mtls")

	// Same CA names as ours (testpki names its CAs alike for every seed),
	// other keys: only nginx's verification can tell.
	other := newPKI(t, "another-ca")
	foreign := issueCard(t, other, testpki.P256)
	for _, hide := range []bool{false, true} {
		t.Run(fmt.Sprintf("another PKI, CA names hidden=%v", hide), func(t *testing.T) {
			srv := startNginx(t, p, serverOpts{hideCANames: hide})
			c := newClient(t, options(p, foreign, foreign.Key))
			r, err := srv.Fetch(c.HTTP)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 403 || !strings.HasPrefix(r.Whoami.Verify, "FAILED:") || r.Whoami.Error == "" {
				t.Errorf("nginx did not reject the foreign certificate: %d %+v", r.Status, r.Whoami)
			}
		})
	}

	// A server that names only the HSA person CA, and our own PKI's
	// personal-number certificate, whose chain (PN person CA, root) it does
	// not name: the certificate is not offered and the card does not sign.
	// (With the root named, every CA under it would be accepted: crypto/tls
	// matches the issuer of every certificate in the chain.)
	t.Run("CA the server does not name", func(t *testing.T) {
		card, err := p.IssueCard(testpki.CardSpec{Key: testpki.P256})
		if err != nil {
			t.Fatal(err)
		}
		srv := startNginx(t, p, serverOpts{clientCAs: []*x509.Certificate{p.HSAPersonCA.Cert}})
		signer := &countingSigner{Signer: card.PNAuth.Key}
		c := newClient(t, options(p, card.PNAuth, signer))
		_, err = srv.Fetch(c.HTTP)
		var na *mtls.CertificateNotAcceptedError
		if !errors.As(err, &na) {
			t.Fatalf("error %v (%T), want *mtls.CertificateNotAcceptedError", err, err)
		}
		if !strings.Contains(strings.Join(na.AcceptableCAs, ";"), testpki.HSAPersonCAName) || !strings.Contains(na.Issuer, testpki.PNPersonCAName) {
			t.Errorf("%+v", na)
		}
		t.Logf("error: %v", err)
		if n := signer.n.Load(); n != 0 {
			t.Errorf("the card signed %d times for a server that would refuse it", n)
		}
	})
}

func TestSignerErrorIsWrapped(t *testing.T) {
	p := newPKI(t, "mtls")
	for _, proto := range []string{"TLSv1.2", "TLSv1.3"} {
		t.Run(proto, func(t *testing.T) {
			srv := startNginx(t, p, serverOpts{protocols: []string{proto}})
			for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
				cred := issueCard(t, p, key)
				c := newClient(t, options(p, cred, removedCardSigner{cred.Key}))
				_, err := srv.Fetch(c.HTTP)
				t.Logf("error: %v", err)
				var se *mtls.SigningError
				if !errors.Is(err, errCardGone) || !errors.As(err, &se) {
					t.Errorf("%s: error %v, want *mtls.SigningError wrapping the card's error", key, err)
				}
			}
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)
	otherKey := issueCard(t, p, testpki.RSA2048).Key
	good := options(p, cred, cred.Key)
	for _, tc := range []struct {
		name string
		edit func(*mtls.Options)
		want error
	}{
		{"no signer", func(o *mtls.Options) { o.Signer = nil }, mtls.ErrNoSigner},
		{"no chain", func(o *mtls.Options) { o.Chain = nil }, mtls.ErrNoChain},
		{"no roots (never the system pool)", func(o *mtls.Options) { o.Roots = nil }, mtls.ErrNoRoots},
		{"key of another certificate", func(o *mtls.Options) { o.Signer = otherKey }, mtls.ErrKeyMismatch},
		{"TLS 1.1", func(o *mtls.Options) { o.MinVersion = tls.VersionTLS11 }, mtls.ErrVersionRange},
		{"min above max", func(o *mtls.Options) { o.MinVersion, o.MaxVersion = tls.VersionTLS13, tls.VersionTLS12 }, mtls.ErrVersionRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			if _, err := mtls.Config(o); !errors.Is(err, tc.want) {
				t.Errorf("Config: %v, want %v", err, tc.want)
			}
			if _, err := mtls.NewClient(o); !errors.Is(err, tc.want) {
				t.Errorf("NewClient: %v, want %v", err, tc.want)
			}
		})
	}
	cfg, err := mtls.Config(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 || cfg.ClientSessionCache == nil || cfg.RootCAs != nil {
		t.Errorf("defaults: min %x max %x cache %v RootCAs %v", cfg.MinVersion, cfg.MaxVersion, cfg.ClientSessionCache, cfg.RootCAs)
	}
}

func TestServerAuthClient(t *testing.T) {
	p := newPKI(t, "mtls")
	sc, err := p.ServerCert("localhost")
	if err != nil {
		t.Fatal(err)
	}
	plain := nginxtest.Start(t, nginxtest.Options{
		ServerChain: append([]*x509.Certificate{sc.Cert}, sc.Chain...), ServerKey: sc.Key, NoClientAuth: true,
	})
	c, err := mtls.NewServerAuthClient(mtls.Options{Roots: p.Roots()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	r, err := plain.Fetch(c.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Whoami.Verify != "NONE" {
		t.Errorf("%d %+v", r.Status, r.Whoami)
	}

	// A server that wants a client certificate gets an empty one.
	mutual := startNginx(t, p, serverOpts{})
	if r, err := mutual.Fetch(c.HTTP); err != nil || r.Status != 403 || r.Whoami.Verify != "NONE" {
		t.Errorf("mutual-TLS server: %v %+v", err, r)
	}

	// Pinned like the mutual client.
	proxied := startNginx(t, p, serverOpts{serverPKI: newPKI(t, "inspecting-proxy")})
	var ue *mtls.UntrustedServerError
	if _, err := proxied.Fetch(c.HTTP); !errors.As(err, &ue) || !ue.LikelyInspectingProxy {
		t.Errorf("untrusted server: %v", err)
	}
	if _, err := mtls.NewServerAuthClient(mtls.Options{}); !errors.Is(err, mtls.ErrNoRoots) {
		t.Errorf("no roots: %v", err)
	}
}
