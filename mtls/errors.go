package mtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors returned by Config and NewClient for unusable options.
var (
	// ErrNoSigner: Options.Signer is nil.
	ErrNoSigner = errors.New("mtls: no signer")
	// ErrNoChain: Options.Chain is empty.
	ErrNoChain = errors.New("mtls: no client certificate")
	// ErrNoRoots: Options.Roots is nil. mtls never falls back to the system
	// pool: the environment's trust anchors are the only roots.
	ErrNoRoots = errors.New("mtls: no trust anchors for the server")
	// ErrKeyMismatch: the signer's public key is not the leaf certificate's.
	ErrKeyMismatch = errors.New("mtls: signer does not match the client certificate")
	// ErrUnsupportedKey: the key is neither RSA, ECDSA (P-256, P-384, P-521)
	// nor Ed25519.
	ErrUnsupportedKey = errors.New("mtls: unsupported key type")
	// ErrVersionRange: MinVersion/MaxVersion leave no TLS version this key
	// can use (for instance MinVersion TLS 1.3 with an RSA key that cannot
	// sign RSA-PSS).
	ErrVersionRange = errors.New("mtls: no usable TLS version")
)

// ErrNoSharedCipherSuite: the server aborted the handshake with a
// handshake_failure alert (RFC 5246 §7.2.2) before any certificate was
// checked, which against our ClientHello means it accepts none of
// CipherSuites (typically a TLS 1.2 server configured for CBC-SHA suites
// only) and does not speak TLS 1.3. Client returns it wrapping the
// handshake error: errors.Is(err, ErrNoSharedCipherSuite).
var ErrNoSharedCipherSuite = errors.New("mtls: the server offers no cipher suite this client accepts (TLS 1.2 needs ECDHE with AES-GCM or ChaCha20-Poly1305, or TLS 1.3)")

// UntrustedServerError is a server certificate that does not verify against
// the environment's trust anchors, or does not name the server.
type UntrustedServerError struct {
	// Host is the name the certificate was checked against.
	Host string
	// Subject and Issuer are the server leaf certificate's names (RFC 2253
	// strings), as presented.
	Subject, Issuer string
	// LikelyInspectingProxy is true when the certificate looks minted by a
	// TLS-inspecting proxy: its issuer names a well-known inspection product,
	// or it names the host we asked for but chains to none of our anchors
	// (what a proxy that re-signs every site produces).
	LikelyInspectingProxy bool
	// Err is the verification error from crypto/x509
	// (x509.UnknownAuthorityError, x509.HostnameError,
	// x509.CertificateInvalidError, ...), or nil when the server sent no
	// certificate.
	Err error
}

func (e *UntrustedServerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mtls: server certificate for %q is not trusted", e.Host)
	if e.Subject != "" || e.Issuer != "" {
		fmt.Fprintf(&b, " (subject %q, issuer %q)", e.Subject, e.Issuer)
	}
	if e.LikelyInspectingProxy {
		b.WriteString(": a TLS-inspecting proxy probably sits between this computer and the service; the service must be exempted from TLS inspection")
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *UntrustedServerError) Unwrap() error { return e.Err }

// ServerCertificateTimeError: the server certificate chains to the trust
// anchors and names the server, but this computer's clock lies outside its
// validity (expired, or not yet valid). Usually the computer's date or time
// is wrong; rarely the service let its certificate expire.
type ServerCertificateTimeError struct {
	// Host is the name the certificate was checked against.
	Host string
	// NotBefore and NotAfter are the leaf certificate's validity.
	NotBefore, NotAfter time.Time
	// Now is this computer's time the certificate was checked at.
	Now time.Time
	// Err is crypto/x509's error (an x509.CertificateInvalidError with
	// Reason x509.Expired).
	Err error
}

// Expired is true when Now is after NotAfter (else Now is before NotBefore).
func (e *ServerCertificateTimeError) Expired() bool { return e.Now.After(e.NotAfter) }

func (e *ServerCertificateTimeError) Error() string {
	what := "not yet valid"
	if e.Expired() {
		what = "expired"
	}
	return fmt.Sprintf("mtls: server certificate for %q is %s at this computer's time %s (valid %s to %s); check the computer's date and time: %v",
		e.Host, what, e.Now.UTC().Format(time.RFC3339), e.NotBefore.UTC().Format(time.RFC3339), e.NotAfter.UTC().Format(time.RFC3339), e.Err)
}

func (e *ServerCertificateTimeError) Unwrap() error { return e.Err }

// CertificateNotAcceptedError is returned during the handshake when the
// server's CertificateRequest names no CA that issued our chain, or no
// signature scheme the key can produce: the server would reject the card's
// certificate, so it is not offered and no card signature is spent.
type CertificateNotAcceptedError struct {
	// Issuer is the client leaf certificate's issuer.
	Issuer string
	// AcceptableCAs are the distinguished names the server said it accepts
	// (RFC 5246 §7.4.4, RFC 8446 §4.2.4), as RFC 2253 strings where they
	// parse.
	AcceptableCAs []string
	// Version is the negotiated TLS version.
	Version uint16
	// Err is crypto/tls' reason (CertificateRequestInfo.SupportsCertificate).
	Err error
}

func (e *CertificateNotAcceptedError) Error() string {
	return fmt.Sprintf("mtls: the server does not accept this certificate (issuer %q; server accepts %q; %s): %v",
		e.Issuer, e.AcceptableCAs, tls.VersionName(e.Version), e.Err)
}

func (e *CertificateNotAcceptedError) Unwrap() error { return e.Err }

// SigningError is a failure of the client key (the card) to sign the
// handshake. Err is the signer's own error, so errors.Is sees through to,
// for instance, cardreader.ErrCardRemoved.
//
// crypto/tls flattens a signer's error to text (Go 1.26,
// handshake_client_tls13.go); Client recovers the original error, a bare
// Config cannot.
type SigningError struct {
	Err error
}

func (e *SigningError) Error() string {
	return "mtls: the client key failed to sign the TLS handshake: " + e.Err.Error()
}

func (e *SigningError) Unwrap() error { return e.Err }

// ProtocolVersionError: the server refused every TLS version we offered
// while we had capped the version because the key cannot sign RSA-PSS
// (TLS 1.3 requires RSA-PSS for RSA keys: RFC 8446 §4.2.3).
type ProtocolVersionError struct {
	// MaxVersion is the highest version offered.
	MaxVersion uint16
	// CappedForPSS is true when MaxVersion was lowered because the key
	// cannot sign RSA-PSS.
	CappedForPSS bool
	// Err is the handshake error (a tls.AlertError from the server).
	Err error
}

func (e *ProtocolVersionError) Error() string {
	if e.CappedForPSS {
		return fmt.Sprintf("mtls: the server refused %s; TLS 1.3 needs RSA-PSS signatures, which this key cannot make: %v",
			tls.VersionName(e.MaxVersion), e.Err)
	}
	return fmt.Sprintf("mtls: the server refused every TLS version up to %s: %v", tls.VersionName(e.MaxVersion), e.Err)
}

func (e *ProtocolVersionError) Unwrap() error { return e.Err }
