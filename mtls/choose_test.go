package mtls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
)

// serveTLS accepts connections on a loopback listener with cfg and records
// whether any client certificate arrived.
func serveTLS(t *testing.T, cfg *tls.Config) (addr string, gotCert <-chan bool) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan bool, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				_ = tc.Handshake()
				ch <- len(tc.ConnectionState().PeerCertificates) > 0
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func TestProbeCertificateRequest(t *testing.T) {
	p, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.ServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	card, err := p.IssueCard(testpki.CardSpec{EIDs: []testpki.EIDSpec{{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678"}}})
	if err != nil {
		t.Fatal(err)
	}
	opts := mtls.Options{Roots: p.Roots(), ServerName: "127.0.0.1"}
	for _, tc := range []struct {
		name                    string
		auth                    tls.ClientAuthType
		cas                     []*x509.Certificate
		requested, first, other bool
	}{
		{"only the second CA", tls.RequestClientCert, []*x509.Certificate{p.Root.Cert, p.HSAPersonCA2.Cert}, true, false, true},
		{"both CAs", tls.RequireAnyClientCert, []*x509.Certificate{p.HSAPersonCA.Cert, p.HSAPersonCA2.Cert}, true, true, true},
		{"no certificate asked for", tls.NoClientCert, nil, false, true, true},
	} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(v), func(t *testing.T) {
				pool := x509.NewCertPool()
				for _, c := range tc.cas {
					pool.AddCert(c)
				}
				addr, gotCert := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{sc.TLSCertificate()},
					ClientAuth: tc.auth, ClientCAs: pool, MaxVersion: v})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				cr, err := mtls.ProbeCertificateRequest(ctx, opts, addr)
				if err != nil {
					t.Fatal(err)
				}
				if cr.Requested != tc.requested || cr.Accepts(card.HSAAuth.Cert) != tc.first || cr.Accepts(card.EIDs[0].Auth.Cert) != tc.other {
					t.Errorf("requested %v, accepts first %v, second %v; want %v %v %v",
						cr.Requested, cr.Accepts(card.HSAAuth.Cert), cr.Accepts(card.EIDs[0].Auth.Cert), tc.requested, tc.first, tc.other)
				}
				select {
				case sent := <-gotCert:
					if sent {
						t.Error("the probe sent a client certificate")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the server saw no connection")
				}
			})
		}
	}
	// An untrusted server is refused, as in every mtls connection.
	other, err := testpki.New(testpki.Options{Seed: "probe-other"})
	if err != nil {
		t.Fatal(err)
	}
	osc, err := other.ServerCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{osc.TLSCertificate()}, ClientAuth: tls.RequestClientCert})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = mtls.ProbeCertificateRequest(ctx, opts, addr)
	var ue *mtls.UntrustedServerError
	if !errors.As(err, &ue) {
		t.Errorf("untrusted server: %v", err)
	}
}
