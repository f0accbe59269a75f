package mtls

import (
	"crypto/x509"
	"slices"
	"testing"
)

// The Clients' transports, which the exported API does not show, use
// CipherSuites too.
func TestClientTransportsUseCipherSuites(t *testing.T) {
	s, err := newServerAuthSetup(Options{Roots: x509.NewCertPool()})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(s, Options{})
	if got := c.transport.TLSClientConfig.CipherSuites; !slices.Equal(got, CipherSuites()) {
		t.Errorf("transport CipherSuites %v", got)
	}
}
