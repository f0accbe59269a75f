package testpki

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/x509"

	"golang.org/x/crypto/ocsp"
)

func TestCRL(t *testing.T) {
	p := newPKI(t, Options{})
	c := issue(t, p, CardSpec{Key: P256})
	if p.IsRevoked(c.HSAAuth.Cert) {
		t.Fatal("revoked before Revoke")
	}
	if err := p.Revoke(c.HSAAuth.Cert); err != nil {
		t.Fatal(err)
	}
	if !p.IsRevoked(c.HSAAuth.Cert) || p.IsRevoked(c.HSASign.Cert) || p.IsRevoked(c.PNAuth.Cert) {
		t.Error("IsRevoked does not match what was revoked")
	}
	other := issue(t, newPKI(t, Options{Seed: "other"}), CardSpec{Key: P256})
	if err := p.Revoke(other.HSAAuth.Cert); err == nil {
		t.Error("Revoke accepted a certificate of another PKI")
	}
	for _, tc := range []struct {
		ca   *CA
		want int
	}{{p.HSAPersonCA, 1}, {p.PNPersonCA, 0}, {p.Root, 0}} {
		der, err := p.CRL(tc.ca)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(tc.ca.Cert); err != nil {
			t.Errorf("%s CRL signature: %v", tc.ca.Cert.Subject.CommonName, err)
		}
		if len(crl.RevokedCertificateEntries) != tc.want {
			t.Errorf("%s CRL has %d entries, want %d", tc.ca.Cert.Subject.CommonName, len(crl.RevokedCertificateEntries), tc.want)
		}
		if tc.want == 1 && crl.RevokedCertificateEntries[0].SerialNumber.Cmp(c.HSAAuth.Cert.SerialNumber) != 0 {
			t.Error("CRL lists the wrong serial")
		}
		again, _ := p.CRL(tc.ca)
		if !bytes.Equal(der, again) {
			t.Error("CRL not deterministic")
		}
	}
}

// TestCRLOpenSSL checks the CRLs written by WriteDir with openssl verify
// -crl_check_all, as nginx's ssl_crl uses them.
func TestCRLOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		testenv.Missing(t, "openssl not installed")
	}
	p := newPKI(t, Options{Now: time.Now()})
	c := issue(t, p, CardSpec{Key: P256})
	if err := p.Revoke(c.PNAuth.Cert); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cred    Credential
		revoked bool
	}{{c.HSAAuth, false}, {c.PNAuth, true}} {
		leaf := filepath.Join(dir, "leaf.pem")
		os.WriteFile(leaf, tc.cred.CertPEM(), 0o644)
		out, err := exec.Command(openssl, "verify", "-crl_check_all", "-CRLfile", filepath.Join(dir, "crl.pem"),
			"-CAfile", filepath.Join(dir, "root.pem"), "-untrusted", filepath.Join(dir, "cas.pem"), leaf).CombinedOutput()
		if tc.revoked != strings.Contains(string(out), "certificate revoked") || tc.revoked == (err == nil) {
			t.Errorf("openssl verify (revoked=%v): %v\n%s", tc.revoked, err, out)
		}
	}
}

func TestOCSP(t *testing.T) {
	p := newPKI(t, Options{Now: time.Now()})
	srv := httptest.NewServer(p.OCSPHandler())
	defer srv.Close()
	c := issue(t, p, CardSpec{Key: P256})
	if err := p.Revoke(c.HSASign.Cert); err != nil {
		t.Fatal(err)
	}
	query := func(cert, issuer *x509.Certificate, get bool) (*ocsp.Response, error) {
		t.Helper()
		req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		var resp *http.Response
		if get {
			resp, err = http.Get(srv.URL + "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
		} else {
			resp, err = http.Post(srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return ocsp.ParseResponseForCert(buf.Bytes(), cert, issuer)
	}
	for _, get := range []bool{false, true} {
		r, err := query(c.HSAAuth.Cert, p.HSAPersonCA.Cert, get)
		if err != nil || r.Status != ocsp.Good {
			t.Errorf("get=%v: good cert: %v %+v", get, err, r)
		}
		r, err = query(c.HSASign.Cert, p.HSAPersonCA.Cert, get)
		if err != nil || r.Status != ocsp.Revoked || !r.RevokedAt.Equal(p.Now()) {
			t.Errorf("get=%v: revoked cert: %v %+v", get, err, r)
		}
	}
	// An issuer this responder does not serve.
	other := newPKI(t, Options{Seed: "other"})
	oc := issue(t, other, CardSpec{Key: P256})
	var re ocsp.ResponseError
	if _, err := query(oc.HSAAuth.Cert, other.HSAPersonCA.Cert, false); !errors.As(err, &re) || re.Status != ocsp.Unauthorized {
		t.Errorf("foreign issuer: err = %v, want unauthorized", err)
	}

	// openssl's OCSP client, against the same responder.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		return
	}
	dir := t.TempDir()
	if err := p.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	issuer := filepath.Join(dir, "issuer.pem")
	os.WriteFile(issuer, p.HSAPersonCA.CertPEM(), 0o644)
	for _, tc := range []struct {
		cred Credential
		want string
	}{{c.HSAAuth, ": good"}, {c.HSASign, ": revoked"}} {
		leaf := filepath.Join(dir, "leaf.pem")
		os.WriteFile(leaf, tc.cred.CertPEM(), 0o644)
		out, err := exec.Command(openssl, "ocsp", "-sha256", "-issuer", issuer, "-cert", leaf, "-url", srv.URL+"/ocsp",
			"-CAfile", filepath.Join(dir, "root.pem")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "Response verify OK") {
			t.Errorf("openssl ocsp: %v\n%s", err, out)
		}
	}
}
