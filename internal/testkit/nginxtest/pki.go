package nginxtest

import (
	"crypto/x509"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// PKIOptions returns Options for a server of the test PKI p: a server
// certificate from p's function CA for "localhost" and "127.0.0.1", and
// client certificates trusted from p's root and HSA person CA (the login
// certificates). Adjust Protocols and the rest before Start.
func PKIOptions(t testing.TB, p *testpki.PKI) Options {
	t.Helper()
	sc, err := p.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatalf("nginxtest: server certificate: %v", err)
	}
	return Options{
		ServerChain: append([]*x509.Certificate{sc.Cert}, sc.Chain...),
		ServerKey:   sc.Key,
		ClientCAs:   []*x509.Certificate{p.Root.Cert, p.HSAPersonCA.Cert},
	}
}
