package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"time"
)

// errNoServerName: nothing to check the server certificate's name against.
var errNoServerName = errors.New("no server name to check the certificate against (set Options.ServerName when dialling an IP address)")

// errNoServerCertificate: the server sent no certificate at all.
var errNoServerCertificate = errors.New("the server sent no certificate")

// verifyConnection is tls.Config.VerifyConnection: it pins the server to
// s.roots and checks its name, for full and resumed handshakes alike. It may
// run concurrently for several connections.
func (s *setup) verifyConnection(cs tls.ConnectionState) error {
	host := s.serverName
	if host == "" {
		host = cs.ServerName
	}
	if len(cs.PeerCertificates) == 0 {
		return &UntrustedServerError{Host: host, Err: errNoServerCertificate}
	}
	leaf := cs.PeerCertificates[0]
	if host == "" {
		return &UntrustedServerError{Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), Err: errNoServerName}
	}
	if err := verifyServer(s.roots, cs.PeerCertificates, host, s.now()); err != nil {
		return err
	}
	s.handshakes.Add(1)
	if cs.DidResume {
		s.resumptions.Add(1)
	}
	return nil
}

// verifyServer checks peer (leaf first, as sent) against roots and host.
// The chain and the name are checked separately so the error says which
// failed, and so a certificate that names host but chains to nothing we
// know can be recognised as a TLS-inspecting proxy's.
func verifyServer(roots *x509.CertPool, peer []*x509.Certificate, host string, now time.Time) error {
	leaf := peer[0]
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		CurrentTime:   now,
	}
	_, chainErr := leaf.Verify(opts)
	hostErr := leaf.VerifyHostname(host)
	if chainErr == nil && hostErr == nil {
		return nil
	}
	if hostErr == nil && outsideValidity(leaf, now) {
		// A chain that verifies at a moment inside the leaf's validity
		// fails only on the clock: most often this computer's date is
		// wrong, not the server untrusted.
		opts.CurrentTime = leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
		if _, err := leaf.Verify(opts); err == nil {
			return &ServerCertificateTimeError{
				Host:      host,
				NotBefore: leaf.NotBefore,
				NotAfter:  leaf.NotAfter,
				Now:       now,
				Err:       chainErr,
			}
		}
	}
	e := &UntrustedServerError{
		Host:    host,
		Subject: leaf.Subject.String(),
		Issuer:  leaf.Issuer.String(),
	}
	if chainErr != nil {
		e.Err = chainErr
		var unknown x509.UnknownAuthorityError
		e.LikelyInspectingProxy = knownInspector(peer) || (hostErr == nil && errors.As(chainErr, &unknown))
	} else {
		e.Err = hostErr
	}
	return e
}

// inspectorNames are fragments of issuer names that products which
// intercept TLS put into the certificates they mint (their documentation
// and the certificates they are seen to issue). Matched case-insensitively
// against every certificate's issuer and subject in the chain.
var inspectorNames = []string{
	"zscaler", "fortinet", "fortigate", "palo alto", "paloalto",
	"blue coat", "bluecoat", "cisco umbrella", "opendns", "netskope",
	"sophos", "check point", "checkpoint", "forcepoint", "websense",
	"barracuda", "mcafee", "skyhigh", "trend micro", "kaspersky",
	"eset ssl filter", "avast", "bitdefender", "iboss", "menlo security",
	"watchguard", "sonicwall", "untangle", "mitmproxy", "do_not_trust",
	"fiddler", "charles proxy", "portswigger", "burp suite",
}

func knownInspector(peer []*x509.Certificate) bool {
	for _, c := range peer {
		for _, n := range []string{strings.ToLower(c.Issuer.String()), strings.ToLower(c.Subject.String())} {
			for _, frag := range inspectorNames {
				if strings.Contains(n, frag) {
					return true
				}
			}
		}
	}
	return false
}

// outsideValidity: now is before the leaf's NotBefore or after its NotAfter
// (RFC 5280 §4.1.2.5: both ends inclusive).
func outsideValidity(leaf *x509.Certificate, now time.Time) bool {
	return now.Before(leaf.NotBefore) || now.After(leaf.NotAfter)
}
