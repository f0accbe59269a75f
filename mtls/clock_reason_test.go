package mtls

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

// A certificate that chains and names the host but is outside its validity
// at this computer's time (a wrong clock) is a ServerCertificateTimeError,
// not "untrusted".
func TestVerifyServerWrongClock(t *testing.T) {
	ca, caKey := selfSignedCA(t, "SITHS Test Root", "Inera")
	leaf := leafFor(t, "idp.example", ca, caKey)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, tc := range []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"clock far ahead", time.Now().AddDate(1, 0, 0), true},
		{"clock far behind", time.Now().AddDate(-1, 0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyServer(roots, []*x509.Certificate{leaf}, "idp.example", tc.now)
			var te *ServerCertificateTimeError
			if !errors.As(err, &te) {
				t.Fatalf("want *ServerCertificateTimeError, got %T %v", err, err)
			}
			var ue *UntrustedServerError
			if errors.As(err, &ue) {
				t.Fatalf("also untrusted: %v", err)
			}
			if te.Expired() != tc.expired || !te.NotAfter.Equal(leaf.NotAfter) || !te.NotBefore.Equal(leaf.NotBefore) || !te.Now.Equal(tc.now) {
				t.Fatalf("fields: %+v", te)
			}
			var inv x509.CertificateInvalidError
			if !errors.As(err, &inv) || inv.Reason != x509.Expired {
				t.Fatalf("x509 reason lost: %v", err)
			}
		})
	}
	// Expired and from an unknown CA: still untrusted, the clock is not
	// the only fault.
	other, otherKey := selfSignedCA(t, "Other", "Other")
	foreign := leafFor(t, "idp.example", other, otherKey)
	err := verifyServer(roots, []*x509.Certificate{foreign}, "idp.example", time.Now().AddDate(1, 0, 0))
	var ue *UntrustedServerError
	if !errors.As(err, &ue) {
		t.Fatalf("want untrusted, got %T %v", err, err)
	}
	// Expired and the wrong name: untrusted.
	err = verifyServer(roots, []*x509.Certificate{leaf}, "other.example", time.Now().AddDate(1, 0, 0))
	if !errors.As(err, &ue) {
		t.Fatalf("want untrusted for the wrong name, got %T %v", err, err)
	}
}
