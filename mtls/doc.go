// Package mtls builds a *tls.Config and an *http.Client for mutual TLS from a
// crypto.Signer and its certificate chain. It knows nothing of cards: the
// card's key arrives as a crypto.Signer. It never logs; every failure is a
// typed error.
//
// # Versions and signature schemes
//
// TLS 1.2 and 1.3 are offered. TLS 1.3 requires RSA-PSS from RSA keys
// (RFC 8446 §4.2.3), so a signer that reports SupportsPSS() == false (the
// card backends' signers implement interface{ SupportsPSS() bool }) is
// capped at TLS 1.2 and offers PKCS#1 v1.5 schemes only; against a server
// that speaks only TLS 1.3 that fails with *ProtocolVersionError. ECDSA keys
// offer the scheme of their curve (P-256 with SHA-256, ...), on both
// versions.
//
// # Cipher suites
//
// TLS 1.2 offers only CipherSuites: ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305. CBC-SHA suites (MAC-then-encrypt, the Lucky13 and
// padding-oracle attacks) and static-RSA key exchange (no forward secrecy)
// are not offered; TLS 1.3's suites are all AEAD. A TLS 1.2 server that
// accepts none of them aborts the handshake, and Client returns an error
// that wraps ErrNoSharedCipherSuite; the card has not signed by then.
//
// # The client certificate
//
// The chain is offered only when the server's CertificateRequest names a CA
// that issued one of its certificates (or names none) and accepts one of
// the key's signature schemes. Otherwise the handshake stops with
// *CertificateNotAcceptedError, before the card is asked to sign: no PIN is
// spent on a server that would refuse the certificate. A signer's failure
// (card removed, PIN blocked) comes back from Client as *SigningError
// wrapping the signer's own error, so errors.Is sees the card's sentinel.
//
// # The server certificate
//
// The server is verified against Options.Roots only, the environment's
// trust anchors, never the system pool, on every connection including
// resumed ones, and its name is checked. A failure is
// *UntrustedServerError; LikelyInspectingProxy is set when the certificate
// was minted by a known TLS-inspection product, or names the right host
// but chains to nothing we know (what a re-signing proxy produces), so the
// UI can tell the user that the network, not the card, is the problem.
// A certificate that would verify but for this computer's clock (expired,
// or not yet valid: usually a wrong date on the PC) is
// *ServerCertificateTimeError instead, so the user is told to check the
// date and time rather than that the server is not trusted.
//
// # Sessions: one signature per session
//
// Client caches sessions (TLS 1.3 tickets, RFC 8446 §4.6.1; TLS 1.2 session
// tickets, RFC 5077; crypto/tls does not resume by TLS 1.2 session ID), so
// later connections resume without a card signature. Client.Stats counts
// handshakes, resumptions and signatures. ForgetSessions drops every cached
// session and idle connection: the app calls it when the card is removed.
// Until a request has succeeded (after NewClient or ForgetSessions), requests
// go one at a time, so that concurrent first requests resume the first
// one's session rather than each asking the card to sign.
//
// # Proxies
//
// Client makes direct connections unless Options.Proxy is set: the agent
// runs from a Run key, a systemd user unit or a VDI session, where proxy
// environment variables are unreliable, so the proxy is a matter of policy.
// The app passes environment.Environment.Proxy (environment.ProxyFunc:
// policy's proxy key, else HTTPS_PROXY/NO_PROXY). A proxy is used with
// CONNECT, so TLS stays end to end and pinned; a proxy that inspects TLS is
// refused as above.
package mtls
