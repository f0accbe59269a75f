package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

func selfSignedCA(t *testing.T, cn, org string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func leafFor(t *testing.T, host string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, k.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyServerClassifies(t *testing.T) {
	ours, ourKey := selfSignedCA(t, "Environment Root", "Region Test")
	roots := x509.NewCertPool()
	roots.AddCert(ours)
	zscaler, zKey := selfSignedCA(t, "Zscaler Intermediate Root CA (zscaler.net)", "Zscaler Inc.")
	stranger, sKey := selfSignedCA(t, "Some CA", "Somebody")
	now := time.Now()

	for _, tc := range []struct {
		name      string
		peer      []*x509.Certificate
		host      string
		wantErr   bool
		wantProxy bool
		wantCause any
	}{
		{"ours", []*x509.Certificate{leafFor(t, "idp.test", ours, ourKey)}, "idp.test", false, false, nil},
		{"ours, other host", []*x509.Certificate{leafFor(t, "other.test", ours, ourKey)}, "idp.test", true, false, new(x509.HostnameError)},
		// An inspection product re-signs the site under its own CA: named
		// product, even when it also gets the host wrong.
		{"Zscaler", []*x509.Certificate{leafFor(t, "elsewhere.test", zscaler, zKey), zscaler}, "idp.test", true, true, new(x509.UnknownAuthorityError)},
		// An unknown CA that names exactly our host: what a re-signing
		// proxy produces.
		{"unknown CA, our host", []*x509.Certificate{leafFor(t, "idp.test", stranger, sKey)}, "idp.test", true, true, new(x509.UnknownAuthorityError)},
		// An unknown CA for some other host: misconfiguration, not a proxy.
		{"unknown CA, other host", []*x509.Certificate{leafFor(t, "other.test", stranger, sKey)}, "idp.test", true, false, new(x509.UnknownAuthorityError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyServer(roots, tc.peer, tc.host, now)
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ue *UntrustedServerError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v (%T), want *UntrustedServerError", err, err)
			}
			if ue.LikelyInspectingProxy != tc.wantProxy || ue.Host != tc.host || ue.Subject != tc.peer[0].Subject.String() {
				t.Errorf("%+v", ue)
			}
			if !errors.As(err, tc.wantCause) {
				t.Errorf("cause %v is not a %T", ue.Err, tc.wantCause)
			}
		})
	}

	// Expired: the clock is Options.Now's.
	leaf := leafFor(t, "idp.test", ours, ourKey)
	var invalid x509.CertificateInvalidError
	if err := verifyServer(roots, []*x509.Certificate{leaf}, "idp.test", now.Add(48*time.Hour)); !errors.As(err, &invalid) {
		t.Errorf("expired certificate: %v", err)
	}
}
