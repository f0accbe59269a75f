package mtls

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
)

// errProbed ends a probe's handshake once the server's CertificateRequest
// has been read: no certificate is sent, nothing is signed.
var errProbed = errors.New("mtls: probe: certificate request read")

// CertificateRequest is what a server asks of client certificates.
type CertificateRequest struct {
	// Requested: the server sent a CertificateRequest at all.
	Requested bool
	// AcceptableCAs are the DER distinguished names it names
	// (certificate_authorities); empty means any issuer.
	AcceptableCAs [][]byte
}

// Accepts reports whether the request names cert's issuer (or names
// none, which accepts any).
func (r CertificateRequest) Accepts(cert *x509.Certificate) bool {
	if len(r.AcceptableCAs) == 0 {
		return true
	}
	for _, ca := range r.AcceptableCAs {
		if bytes.Equal(ca, cert.RawIssuer) {
			return true
		}
	}
	return false
}

// ProbeCertificateRequest connects to addr (host:port) with server
// authentication as opts describes (pinned to opts.Roots, opts.ServerName;
// opts.Signer and opts.Chain are ignored) and returns what the server's
// CertificateRequest accepts, then aborts the handshake: no client
// certificate is sent and no key signs. A card with several eIDs uses it to
// offer the one whose issuer the server accepts (issue 15). A server that
// asks for no certificate gives Requested false.
func ProbeCertificateRequest(ctx context.Context, opts Options, addr string) (CertificateRequest, error) {
	s, err := newServerAuthSetup(opts)
	if err != nil {
		return CertificateRequest{}, err
	}
	var req CertificateRequest
	cfg := s.tlsConfig()
	cfg.ClientSessionCache = nil // a probe must not leave a session behind
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		req.Requested = true
		for _, ca := range cri.AcceptableCAs {
			req.AcceptableCAs = append(req.AcceptableCAs, bytes.Clone(ca))
		}
		return nil, errProbed
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return CertificateRequest{}, err
		}
		cfg.ServerName = host
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if conn != nil {
		conn.Close()
	}
	switch {
	case req.Requested:
		return req, nil
	case err != nil:
		return CertificateRequest{}, err
	}
	return req, nil // the handshake ended without a CertificateRequest
}
