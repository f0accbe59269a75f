package testpki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ServerCert issues a TLS server certificate from FunctionCA for the given
// DNS names and IP literals (default "localhost", "127.0.0.1" and "::1"),
// with EKU serverAuth, valid a year from a day before Now. The key is P-256,
// derived from the seed and the names.
func (p *PKI) ServerCert(names ...string) (Credential, error) {
	if len(names) == 0 {
		names = []string{"localhost", "127.0.0.1", "::1"}
	}
	var (
		dns []string
		ips []net.IP
	)
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if n == "" || strings.ContainsAny(n, " /:@") {
			return Credential{}, fmt.Errorf("%w: %q", ErrInvalidName, n)
		}
		dns = append(dns, n)
	}
	purpose := "server/" + strings.Join(names, ",")
	key, err := deriveKey(p.seed, purpose, P256)
	if err != nil {
		return Credential{}, fmt.Errorf("deriving server key: %w", err)
	}
	notBefore := p.now.Add(-24 * time.Hour)
	t := &x509.Certificate{
		SerialNumber: deriveSerial(p.seed, purpose+"/"+strconv.FormatInt(p.now.Unix(), 10)),
		Subject: pkix.Name{
			Country:      []string{"SE"},
			Organization: []string{caOrganization},
			CommonName:   names[0],
		},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(ServerValidity),
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(key.Public()),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	if p.ocspURL != "" {
		t.OCSPServer = []string{p.ocspURL}
	}
	cred, err := p.FunctionCA.issue(t, key)
	if err != nil {
		return Credential{}, fmt.Errorf("issuing server certificate: %w", err)
	}
	return cred, nil
}
