package idp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// OCSP responder for the issuing CAs of the test PKI (RFC 6960). It answers
// good for every serial of a known issuer unless the serial was revoked
// (Server.Revoke, Options.Revoked), or unknown when Options.KnownSerial says
// the serial was never issued. Requests for other issuers get the
// "unauthorized" error response (RFC 6960 §2.3).

// ocspPath is where the responder listens: POST with the DER request as
// body, or GET with the base64 request appended (RFC 6960 Appendix A.1).
const ocspPath = "/ocsp"

// maxOCSPRequest bounds an OCSP request body; a request for one certificate
// is about 80 bytes.
const maxOCSPRequest = 4 << 10

// ocspValidity is the window of a response: thisUpdate a minute back (clock
// skew), nextUpdate an hour on.
const ocspValidity = time.Hour

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// ocspIssuer is one CA the responder answers for.
type ocspIssuer struct {
	cert *x509.Certificate
	// signer signs responses: the CA's key, or the delegated responder's.
	signer crypto.Signer
	// responder is the delegated responder certificate, nil when the CA
	// signs itself.
	responder *x509.Certificate
}

type ocspResponder struct {
	now     func() time.Time
	issuers []*ocspIssuer
	known   func(issuer, serial *big.Int) bool

	mu      sync.RWMutex
	revoked map[string]time.Time // serial in hex → revocation time
}

// newOCSPResponder answers for the given CAs. With delegated, each CA gets a
// fresh responder certificate (EKU OCSPSigning, id-pkix-ocsp-nocheck) and
// key, as RFC 6960 §4.2.2.2 allows.
func newOCSPResponder(now func() time.Time, cas []*testpki.CA, delegated bool) (*ocspResponder, error) {
	r := &ocspResponder{now: now, revoked: map[string]time.Time{}}
	for _, ca := range cas {
		is := &ocspIssuer{cert: ca.Cert, signer: ca.Key}
		if delegated {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return nil, err
			}
			nb := now().Add(-time.Hour)
			tmpl := &x509.Certificate{
				SerialNumber:    randomSerial(),
				Subject:         pkix.Name{CommonName: "OCSP responder for " + ca.Cert.Subject.CommonName},
				NotBefore:       nb,
				NotAfter:        nb.Add(30 * 24 * time.Hour),
				KeyUsage:        x509.KeyUsageDigitalSignature,
				ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
				ExtraExtensions: []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}},
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
			if err != nil {
				return nil, fmt.Errorf("issuing OCSP responder certificate: %w", err)
			}
			if is.responder, err = x509.ParseCertificate(der); err != nil {
				return nil, err
			}
			is.signer = key
		}
		r.issuers = append(r.issuers, is)
	}
	return r, nil
}

func randomSerial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

func (r *ocspResponder) revoke(serial *big.Int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked[serial.Text(16)] = at
}

func (r *ocspResponder) unrevoke(serial *big.Int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.revoked, serial.Text(16))
}

// issuerFor finds the CA a request names by its name and key hashes.
func (r *ocspResponder) issuerFor(req *ocsp.Request) *ocspIssuer {
	if !req.HashAlgorithm.Available() {
		return nil
	}
	for _, is := range r.issuers {
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(is.cert.RawSubjectPublicKeyInfo, &spki); err != nil {
			continue
		}
		h := req.HashAlgorithm.New()
		h.Write(is.cert.RawSubject)
		nameHash := h.Sum(nil)
		h.Reset()
		h.Write(spki.PublicKey.RightAlign())
		keyHash := h.Sum(nil)
		if bytes.Equal(nameHash, req.IssuerNameHash) && bytes.Equal(keyHash, req.IssuerKeyHash) {
			return is
		}
	}
	return nil
}

// respond answers one DER request with a DER response.
func (r *ocspResponder) respond(reqDER []byte) []byte {
	req, err := ocsp.ParseRequest(reqDER)
	if err != nil {
		return ocsp.MalformedRequestErrorResponse
	}
	is := r.issuerFor(req)
	if is == nil {
		return ocsp.UnauthorizedErrorResponse
	}
	now := r.now()
	tmpl := ocsp.Response{
		Status:       ocsp.Good,
		SerialNumber: req.SerialNumber,
		ThisUpdate:   now.Add(-time.Minute).Truncate(time.Second),
		NextUpdate:   now.Add(ocspValidity).Truncate(time.Second),
		IssuerHash:   req.HashAlgorithm,
	}
	r.mu.RLock()
	at, revoked := r.revoked[req.SerialNumber.Text(16)]
	r.mu.RUnlock()
	switch {
	case revoked:
		tmpl.Status = ocsp.Revoked
		tmpl.RevokedAt = at.Truncate(time.Second)
		tmpl.RevocationReason = ocsp.Unspecified
	case r.known != nil && !r.known(is.cert.SerialNumber, req.SerialNumber):
		tmpl.Status = ocsp.Unknown
	}
	responderCert := is.cert
	if is.responder != nil {
		responderCert = is.responder
		tmpl.Certificate = is.responder
	}
	resp, err := ocsp.CreateResponse(is.cert, responderCert, tmpl, is.signer)
	if err != nil {
		return ocsp.InternalErrorErrorResponse
	}
	return resp
}

// ServeHTTP serves POST /ocsp and GET /ocsp/{base64 request}.
func (r *ocspResponder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var der []byte
	switch req.Method {
	case http.MethodPost:
		b, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxOCSPRequest))
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		der = b
	case http.MethodGet:
		// The path's rest is the base64 request, URL-encoded; "+" and "/"
		// may arrive raw or escaped (RFC 6960 Appendix A.1).
		enc := strings.TrimPrefix(req.URL.Path, ocspPath+"/")
		if len(enc) > maxOCSPRequest {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		b, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			der = nil
		} else {
			der = b
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	resp := r.respond(der)
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(resp)
}

// errOCSP* explain why a certificate's revocation check failed.
var (
	errOCSPRevoked = errors.New("certificate revoked")
	errOCSPUnknown = errors.New("certificate status unknown to the OCSP responder")
)

// check asks the responder about cert (issued by issuer) in-process, the
// same bytes an OCSP client would send over HTTP, and verifies the answer
// as a relying party would: signature by the issuer or an authorised
// delegated responder (RFC 6960 §4.2.2.2), matching serial, current
// thisUpdate/nextUpdate, status good. It returns the DER response for the
// relying party's completionData.
func (r *ocspResponder) check(cert, issuer *x509.Certificate) ([]byte, error) {
	reqDER, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil, fmt.Errorf("making OCSP request: %w", err)
	}
	respDER := r.respond(reqDER)
	resp, err := ocsp.ParseResponseForCert(respDER, cert, issuer)
	if err != nil {
		return nil, fmt.Errorf("OCSP response: %w", err)
	}
	if rc := resp.Certificate; rc != nil {
		okEKU := false
		for _, e := range rc.ExtKeyUsage {
			okEKU = okEKU || e == x509.ExtKeyUsageOCSPSigning
		}
		if !okEKU || !bytes.Equal(rc.RawIssuer, issuer.RawSubject) {
			return nil, errors.New("OCSP response signed by an unauthorised responder")
		}
	}
	now := r.now()
	if now.Before(resp.ThisUpdate.Add(-5*time.Minute)) || !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
		return nil, errors.New("OCSP response not current")
	}
	switch resp.Status {
	case ocsp.Good:
		return respDER, nil
	case ocsp.Revoked:
		return nil, errOCSPRevoked
	default:
		return nil, errOCSPUnknown
	}
}
