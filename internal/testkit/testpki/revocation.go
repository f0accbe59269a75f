package testpki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Revocation state. A PKI starts with nothing revoked; Revoke marks a
// certificate, CRL and OCSPHandler report it. Safe for concurrent use.
type revocations struct {
	mu      sync.Mutex
	revoked map[string]time.Time // issuer SKI + serial -> revocation time
}

func revocationKey(issuerSKI []byte, serial *big.Int) string {
	return string(issuerSKI) + "/" + serial.String()
}

// Revoke marks cert as revoked at Now. cert must have been issued by one of
// the issuing CAs of this PKI (same seed).
func (p *PKI) Revoke(cert *x509.Certificate) error {
	ca := p.issuerOf(cert)
	if ca == nil {
		return fmt.Errorf("testpki: %q was not issued by this PKI", cert.Subject.CommonName)
	}
	p.rev.mu.Lock()
	defer p.rev.mu.Unlock()
	if p.rev.revoked == nil {
		p.rev.revoked = map[string]time.Time{}
	}
	p.rev.revoked[revocationKey(ca.Cert.SubjectKeyId, cert.SerialNumber)] = p.now
	return nil
}

// IsRevoked reports whether Revoke was called for cert.
func (p *PKI) IsRevoked(cert *x509.Certificate) bool {
	ca := p.issuerOf(cert)
	if ca == nil {
		return false
	}
	_, ok := p.revokedAt(ca, cert.SerialNumber)
	return ok
}

func (p *PKI) revokedAt(ca *CA, serial *big.Int) (time.Time, bool) {
	p.rev.mu.Lock()
	defer p.rev.mu.Unlock()
	t, ok := p.rev.revoked[revocationKey(ca.Cert.SubjectKeyId, serial)]
	return t, ok
}

// issuerOf returns the issuing CA whose key signed cert, or nil.
func (p *PKI) issuerOf(cert *x509.Certificate) *CA {
	for _, ca := range p.IssuingCAs() {
		if bytes.Equal(cert.RawIssuer, ca.Cert.RawSubject) && cert.CheckSignatureFrom(ca.Cert) == nil {
			return ca
		}
	}
	return nil
}

// CRL returns a DER certificate revocation list (RFC 5280 §5) signed by ca,
// listing what Revoke marked for that CA. thisUpdate is Now, nextUpdate a
// week later; the CRL number is Now in Unix seconds, so the CRL is
// deterministic for a seed, Now and revocation set. nginx's ssl_crl takes it
// after PEM encoding (CRLPEM).
func (p *PKI) CRL(ca *CA) ([]byte, error) {
	var entries []x509.RevocationListEntry
	p.rev.mu.Lock()
	prefix := string(ca.Cert.SubjectKeyId) + "/"
	for k, t := range p.rev.revoked {
		if s, ok := strings.CutPrefix(k, prefix); ok {
			serial, _ := new(big.Int).SetString(s, 10)
			entries = append(entries, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: t})
		}
	}
	p.rev.mu.Unlock()
	// Map order is random; sort for byte-identical output.
	sortEntries(entries)
	return x509.CreateRevocationList(nil, &x509.RevocationList{
		Number:                    big.NewInt(p.now.Unix()),
		ThisUpdate:                p.now,
		NextUpdate:                p.now.Add(7 * 24 * time.Hour),
		RevokedCertificateEntries: entries,
		SignatureAlgorithm:        x509.SHA256WithRSA,
	}, ca.Cert, ca.Key)
}

// CRLPEM is CRL as a PEM "X509 CRL" block.
func (p *PKI) CRLPEM(ca *CA) ([]byte, error) {
	der, err := p.CRL(ca)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}

func sortEntries(e []x509.RevocationListEntry) {
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && e[j].SerialNumber.Cmp(e[j-1].SerialNumber) < 0; j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

// OCSPHandler returns an HTTP handler answering OCSP requests (RFC 6960,
// GET per Appendix A.1 and POST) for the three issuing CAs. Each response
// is signed by the issuing CA itself (no delegated responder), says revoked
// for certificates passed to Revoke and good for any other serial (the
// handler cannot know what another process with the same seed issued), and
// has thisUpdate Now and nextUpdate a day later. Requests for an unknown
// issuer get the "unauthorized" error response (RFC 6960 §2.3).
func (p *PKI) OCSPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var der []byte
		var err error
		switch r.Method {
		case http.MethodPost:
			der, err = io.ReadAll(io.LimitReader(r.Body, 64<<10))
		case http.MethodGet:
			// The path's last segment is the base64 request, URL-escaped.
			s := r.URL.EscapedPath()
			s = s[strings.LastIndex(s, "/")+1:]
			if s, err = url.PathUnescape(s); err == nil {
				der, err = base64.StdEncoding.DecodeString(s)
			}
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		if err != nil {
			w.Write(ocsp.MalformedRequestErrorResponse)
			return
		}
		req, err := ocsp.ParseRequest(der)
		if err != nil {
			w.Write(ocsp.MalformedRequestErrorResponse)
			return
		}
		resp, err := p.ocspResponse(req)
		if err != nil {
			w.Write(ocsp.UnauthorizedErrorResponse)
			return
		}
		w.Write(resp)
	})
}

// ocspResponse builds the signed response for req.
func (p *PKI) ocspResponse(req *ocsp.Request) ([]byte, error) {
	ca := p.caByKeyHash(req.HashAlgorithm, req.IssuerKeyHash)
	if ca == nil {
		return nil, fmt.Errorf("unknown issuer")
	}
	tmpl := ocsp.Response{
		Status:       ocsp.Good,
		SerialNumber: req.SerialNumber,
		ThisUpdate:   p.now,
		NextUpdate:   p.now.Add(24 * time.Hour),
		IssuerHash:   req.HashAlgorithm,
	}
	if t, ok := p.revokedAt(ca, req.SerialNumber); ok {
		tmpl.Status = ocsp.Revoked
		tmpl.RevokedAt = t
		tmpl.RevocationReason = ocsp.Unspecified
	}
	return ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, ca.Key)
}

// caByKeyHash finds the issuing CA whose public key bit string hashes to h
// (RFC 6960 §4.1.1 issuerKeyHash).
func (p *PKI) caByKeyHash(alg crypto.Hash, h []byte) *CA {
	if !alg.Available() {
		return nil
	}
	for _, ca := range p.IssuingCAs() {
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(ca.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
			continue
		}
		hh := alg.New()
		hh.Write(spki.PublicKey.RightAlign())
		if bytes.Equal(hh.Sum(nil), h) {
			return ca
		}
	}
	return nil
}
