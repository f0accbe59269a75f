package mtls

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Options describe one client identity and the environment it talks to.
// The zero value of every field other than Signer, Chain and Roots is a
// sensible default.
type Options struct {
	// Signer is the client's private key, typically a card's. Signers that
	// implement interface{ SupportsPSS() bool } (every cardreader signer
	// does) and report false are kept to TLS 1.2 when they are RSA keys;
	// signers without the method are assumed to sign RSA-PSS.
	Signer crypto.Signer
	// Chain is the client certificate chain, leaf first, intermediates
	// after (the root is not sent).
	Chain []*x509.Certificate
	// Roots are the environment's trust anchors for the server: the only
	// roots. The system pool is never consulted.
	Roots *x509.CertPool
	// ServerName, if set, is the name the server certificate must carry
	// and the SNI sent. Empty means the host being dialled (net/http fills
	// it in from the URL). An IP-address URL sends no SNI, so crypto/tls
	// does not tell us which address was dialled: set ServerName to the
	// address (e.g. "127.0.0.1") for those.
	ServerName string
	// MinVersion and MaxVersion bound the TLS version; zero means TLS 1.2
	// and TLS 1.3. Versions below TLS 1.2 are refused.
	MinVersion, MaxVersion uint16
	// SessionCache stores sessions for resumption, so that a session costs
	// one signature by the key. Nil means an internal LRU cache.
	SessionCache tls.ClientSessionCache
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time

	// Proxy is used by Client only. Nil means a direct connection: the
	// environment variables HTTPS_PROXY etc. are not consulted unless the
	// caller passes http.ProxyFromEnvironment. A proxy is reached with
	// CONNECT, so TLS stays end to end and the server stays pinned: a
	// proxy that inspects TLS is refused with an UntrustedServerError.
	Proxy func(*http.Request) (*url.URL, error)
	// Timeout is used by Client only: the limit for one request, including
	// the handshake and the card's signature. Zero means one minute.
	Timeout time.Duration
}

// pssCapable is cardreader.PSSCapable, declared here so that mtls does not
// import cardreader.
type pssCapable interface {
	SupportsPSS() bool
}

// setup is validated Options plus what a tls.Config's callbacks need.
type setup struct {
	signer       crypto.Signer
	leaf         *x509.Certificate
	der          [][]byte
	roots        *x509.CertPool
	serverName   string
	minVersion   uint16
	maxVersion   uint16
	cappedForPSS bool
	schemes      []tls.SignatureScheme
	cache        *generationCache
	now          func() time.Time

	// Counters; Client reports them.
	signatures  atomic.Uint64
	handshakes  atomic.Uint64
	resumptions atomic.Uint64
}

func newSetup(opts Options) (*setup, error) {
	if opts.Roots == nil {
		return nil, ErrNoRoots
	}
	if opts.Signer == nil {
		return nil, ErrNoSigner
	}
	if len(opts.Chain) == 0 || opts.Chain[0] == nil {
		return nil, ErrNoChain
	}
	leaf := opts.Chain[0]
	pub, ok := opts.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, ErrKeyMismatch
	}
	s := &setup{
		signer:     opts.Signer,
		leaf:       leaf,
		roots:      opts.Roots,
		serverName: opts.ServerName,
		minVersion: opts.MinVersion,
		maxVersion: opts.MaxVersion,
		now:        opts.Now,
	}
	for i, c := range opts.Chain {
		if c == nil {
			return nil, fmt.Errorf("mtls: chain[%d] is nil: %w", i, ErrNoChain)
		}
		s.der = append(s.der, c.Raw)
	}
	if s.minVersion == 0 {
		s.minVersion = tls.VersionTLS12
	}
	if s.maxVersion == 0 {
		s.maxVersion = tls.VersionTLS13
	}
	s.cache = newGenerationCache(opts.SessionCache, leaf.Raw)
	if s.now == nil {
		s.now = time.Now
	}

	switch k := opts.Signer.Public().(type) {
	case *rsa.PublicKey:
		pss := true
		if p, ok := opts.Signer.(pssCapable); ok {
			pss = p.SupportsPSS()
		}
		pkcs1 := []tls.SignatureScheme{tls.PKCS1WithSHA256, tls.PKCS1WithSHA384, tls.PKCS1WithSHA512}
		if pss {
			s.schemes = append([]tls.SignatureScheme{tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512}, pkcs1...)
		} else {
			s.schemes = pkcs1
			// RFC 8446 §4.2.3: RSA signatures in TLS 1.3 handshakes must
			// use RSA-PSS, so a key that only does PKCS#1 v1.5 stops at
			// TLS 1.2.
			if s.maxVersion > tls.VersionTLS12 {
				s.maxVersion = tls.VersionTLS12
				s.cappedForPSS = true
			}
		}
	case *ecdsa.PublicKey:
		// RFC 8446 §4.2.3 binds the curve to the hash in TLS 1.3; using the
		// same pairs in TLS 1.2 is always acceptable and keeps card
		// signatures to the hash the key was made for.
		switch k.Curve {
		case elliptic.P256():
			s.schemes = []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}
		case elliptic.P384():
			s.schemes = []tls.SignatureScheme{tls.ECDSAWithP384AndSHA384}
		case elliptic.P521():
			s.schemes = []tls.SignatureScheme{tls.ECDSAWithP521AndSHA512}
		default:
			return nil, fmt.Errorf("%w: ECDSA on %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		s.schemes = []tls.SignatureScheme{tls.Ed25519}
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
	}

	if s.minVersion < tls.VersionTLS12 || s.minVersion > s.maxVersion {
		return nil, fmt.Errorf("%w: %s to %s", ErrVersionRange, tls.VersionName(s.minVersion), tls.VersionName(s.maxVersion))
	}
	return s, nil
}

// newServerAuthSetup is newSetup without a client identity: the server is
// pinned and checked the same way, and a CertificateRequest gets an empty
// Certificate message (RFC 8446 §4.4.2.4, RFC 5246 §7.4.6).
func newServerAuthSetup(opts Options) (*setup, error) {
	if opts.Roots == nil {
		return nil, ErrNoRoots
	}
	s := &setup{
		roots:      opts.Roots,
		serverName: opts.ServerName,
		minVersion: opts.MinVersion,
		maxVersion: opts.MaxVersion,
		now:        opts.Now,
	}
	if s.minVersion == 0 {
		s.minVersion = tls.VersionTLS12
	}
	if s.maxVersion == 0 {
		s.maxVersion = tls.VersionTLS13
	}
	s.cache = newGenerationCache(opts.SessionCache, nil)
	if s.now == nil {
		s.now = time.Now
	}
	if s.minVersion < tls.VersionTLS12 || s.minVersion > s.maxVersion {
		return nil, fmt.Errorf("%w: %s to %s", ErrVersionRange, tls.VersionName(s.minVersion), tls.VersionName(s.maxVersion))
	}
	return s, nil
}

// ServerAuthConfig is Config without a client certificate, for the calls
// that authenticate the server only (looking an order up with its token):
// the same pinning to opts.Roots and the same *UntrustedServerError.
// opts.Signer and opts.Chain are ignored.
func ServerAuthConfig(opts Options) (*tls.Config, error) {
	s, err := newServerAuthSetup(opts)
	if err != nil {
		return nil, err
	}
	return s.tlsConfig(), nil
}

// Config returns a *tls.Config for mutual TLS with opts' key and chain.
//
// The client certificate is offered only when the server's
// CertificateRequest accepts its issuer and one of the key's signature
// schemes; otherwise the handshake fails with *CertificateNotAcceptedError
// before the key signs anything. The server's certificate is verified
// against opts.Roots only, for every connection including resumed ones; a
// failure is an *UntrustedServerError.
//
// A signer's error reaches a bare Config's caller only as text (crypto/tls
// flattens it); Client returns it wrapped in *SigningError.
func Config(opts Options) (*tls.Config, error) {
	s, err := newSetup(opts)
	if err != nil {
		return nil, err
	}
	return s.tlsConfig(), nil
}

// CipherSuites returns the TLS 1.2 cipher suites the product's clients
// offer, a fresh slice on each call: ECDHE key exchange (forward secrecy)
// with an AEAD cipher (AES-GCM, RFC 5288/5289; ChaCha20-Poly1305, RFC
// 7905). CBC-SHA suites (RFC 5246 §6.2.3.2, MAC-then-encrypt, the Lucky13
// and padding-oracle family) and static-RSA key exchange are left out.
// TLS 1.3 suites are all AEAD and not configurable in crypto/tls.
//
// Every tls.Config the product builds for a client takes its suites from
// here (Config, ServerAuthConfig, NewClient, NewServerAuthClient).
func CipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

func (s *setup) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         s.minVersion,
		CipherSuites:       CipherSuites(),
		MaxVersion:         s.maxVersion,
		ServerName:         s.serverName,
		ClientSessionCache: s.cache,
		Time:               s.now,
		// The chain is verified in VerifyConnection against s.roots, so
		// that failures become typed errors and so that resumed sessions
		// are checked again (VerifyConnection runs for every connection;
		// VerifyPeerCertificate does not run on resumption).
		InsecureSkipVerify:   true,
		VerifyConnection:     s.verifyConnection,
		GetClientCertificate: s.clientCertificate,
	}
}

// clientCertificate is tls.Config.GetClientCertificate. It may run
// concurrently for several connections.
func (s *setup) clientCertificate(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	var rec *handshakeRecord
	if ctx := cri.Context(); ctx != nil {
		rec, _ = ctx.Value(recordKey{}).(*handshakeRecord)
	}
	rec.markCertificateRequest()
	if s.signer == nil {
		// Server authentication only: send an empty certificate list.
		return new(tls.Certificate), nil
	}
	cert := &tls.Certificate{
		Certificate:                  s.der,
		Leaf:                         s.leaf,
		PrivateKey:                   &countingSigner{signer: s.signer, s: s, rec: rec},
		SupportedSignatureAlgorithms: s.schemes,
	}
	if err := cri.SupportsCertificate(cert); err != nil {
		return nil, &CertificateNotAcceptedError{
			Issuer:        s.leaf.Issuer.String(),
			AcceptableCAs: caNames(cri.AcceptableCAs),
			Version:       cri.Version,
			Err:           err,
		}
	}
	return cert, nil
}

func caNames(raw [][]byte) []string {
	names := make([]string, 0, len(raw))
	for _, r := range raw {
		var seq pkix.RDNSequence
		if rest, err := asn1.Unmarshal(r, &seq); err != nil || len(rest) != 0 {
			names = append(names, fmt.Sprintf("(unparsable name, %d bytes)", len(r)))
			continue
		}
		var n pkix.Name
		n.FillFromRDNSequence(&seq)
		names = append(names, n.String())
	}
	return names
}

// handshakeRecord carries what a handshake learnt back to Client's
// RoundTrip, through the request context that net/http hands to
// tls.Conn.HandshakeContext (CertificateRequestInfo.Context).
type handshakeRecord struct {
	mu      sync.Mutex
	signErr error
	// certRequested: the server got as far as a CertificateRequest, so a
	// later handshake_failure alert is not about cipher suites.
	certRequested bool
}

func (r *handshakeRecord) markCertificateRequest() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.certRequested = true
	r.mu.Unlock()
}

func (r *handshakeRecord) sawCertificateRequest() bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.certRequested
}

type recordKey struct{}

func withRecord(ctx context.Context, rec *handshakeRecord) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

func (r *handshakeRecord) signError() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signErr
}

// countingSigner counts the key's signatures and keeps the signer's error,
// which crypto/tls would reduce to text.
type countingSigner struct {
	signer crypto.Signer
	s      *setup
	rec    *handshakeRecord
}

func (c *countingSigner) Public() crypto.PublicKey { return c.signer.Public() }

func (c *countingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.s.signatures.Add(1)
	sig, err := c.signer.Sign(rand, digest, opts)
	if err != nil && c.rec != nil {
		c.rec.mu.Lock()
		if c.rec.signErr == nil {
			c.rec.signErr = err
		}
		c.rec.mu.Unlock()
	}
	return sig, err
}
