package idp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

func (f *fixture) ocspPost(req []byte) []byte {
	f.t.Helper()
	resp, err := f.plain.Post(f.ts.URL+ocspPath, "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/ocsp-response" {
		f.t.Fatalf("OCSP: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	b, _ := io.ReadAll(resp.Body)
	return b
}

// The OCSP responder over HTTP (RFC 6960 Appendix A), as any OCSP client
// would use it through the certificates' AIA.
func TestOCSPResponder(t *testing.T) {
	f := newFixture(t, nil)
	cert, issuer := f.card.HSAAuth.Cert, f.pki.HSAPersonCA.Cert
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	status := func(der []byte) *ocsp.Response {
		t.Helper()
		r, err := ocsp.ParseResponseForCert(der, cert, issuer)
		if err != nil {
			t.Fatal(err)
		}
		if r.Certificate != nil {
			t.Fatal("CA-signed response carries a responder certificate")
		}
		return r
	}
	if r := status(f.ocspPost(req)); r.Status != ocsp.Good {
		t.Fatalf("status %d, want good", r.Status)
	}
	f.srv.Revoke(cert.SerialNumber)
	r := status(f.ocspPost(req))
	if r.Status != ocsp.Revoked || r.RevokedAt.IsZero() {
		t.Fatalf("status %d at %v, want revoked", r.Status, r.RevokedAt)
	}
	// GET form: base64 of the DER request, URL-escaped.
	resp, err := f.plain.Get(f.ts.URL + ocspPath + "/" + url.QueryEscape(base64.StdEncoding.EncodeToString(req)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if r := status(b); r.Status != ocsp.Revoked {
		t.Fatalf("GET: status %d, want revoked", r.Status)
	}
	f.srv.Unrevoke(cert.SerialNumber)
	if r := status(f.ocspPost(req)); r.Status != ocsp.Good {
		t.Fatalf("status %d after unrevoke, want good", r.Status)
	}

	// The PN CA's certificates too; other PKIs' are refused as unauthorized.
	pnReq, _ := ocsp.CreateRequest(f.card.PNAuth.Cert, f.pki.PNPersonCA.Cert, nil)
	if r, err := ocsp.ParseResponseForCert(f.ocspPost(pnReq), f.card.PNAuth.Cert, f.pki.PNPersonCA.Cert); err != nil || r.Status != ocsp.Good {
		t.Fatalf("PN certificate: %v", err)
	}
	other, _ := testpki.New(testpki.Options{Seed: "another-pki"})
	oc, _ := other.IssueCard(testpki.CardSpec{})
	oReq, _ := ocsp.CreateRequest(oc.HSAAuth.Cert, other.HSAPersonCA.Cert, nil)
	var re ocsp.ResponseError
	if _, err := ocsp.ParseResponse(f.ocspPost(oReq), nil); !errors.As(err, &re) || re.Status != ocsp.Unauthorized {
		t.Fatalf("other PKI: %v, want unauthorized", err)
	}
	if _, err := ocsp.ParseResponse(f.ocspPost([]byte("garbage")), nil); !errors.As(err, &re) || re.Status != ocsp.Malformed {
		t.Fatalf("garbage: %v, want malformed", err)
	}
}

// With KnownSerial, serials the CA never issued are unknown, and such a
// certificate cannot log in.
func TestOCSPUnknownSerial(t *testing.T) {
	var knownSerial *big.Int
	f := newFixture(t, func(o *Options) {
		o.KnownSerial = func(_, serial *big.Int) bool { return serial.Cmp(knownSerial) == 0 }
	})
	knownSerial = big.NewInt(1)
	req, _ := ocsp.CreateRequest(f.card.HSAAuth.Cert, f.pki.HSAPersonCA.Cert, nil)
	r, err := ocsp.ParseResponseForCert(f.ocspPost(req), f.card.HSAAuth.Cert, f.pki.HSAPersonCA.Cert)
	if err != nil || r.Status != ocsp.Unknown {
		t.Fatalf("%v, status %d, want unknown", err, r.Status)
	}
	a := f.auth("Logga in", "")
	l := f.lookup(a.AutoStartToken)
	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	f.wantError(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusForbidden, "certificateErr", "revocation check failed")
}
