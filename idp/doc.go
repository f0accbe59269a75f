// Package idp is the reference identity service of the out-of-band login
// (docs/protocol.md): the relying-party API, the authenticator API (mutual
// TLS), an OCSP responder for the test PKI and a demo login page. It serves
// tests, the demo and integrators; it is not shipped to clinicians.
//
// # Serving
//
// New builds a Server from Options, whose zero value works (a test PKI from
// testpki's default seed, one relying party with a random key, BankID's
// timing). Server is an http.Handler; serve it with Server.TLSConfig:
//
//	srv, _ := idp.New(idp.Options{PKI: pki, RelyingParties: rps})
//	hs := &http.Server{Handler: srv, TLSConfig: srv.TLSConfig()}
//	hs.ServeTLS(ln, "", "")
//
// cmd/sithseid-idp wraps this as "sithseid-idp serve".
//
// # Endpoints
//
//	POST /rp/v6.0/auth, /collect, /cancel    relying parties (Bearer API key)
//	POST /authn/v1/lookup, /qr, /cancel      the app, server-authenticated TLS
//	POST /authn/v1/complete                  the app, mutual TLS with the card
//	POST /ocsp, GET /ocsp/{base64}           OCSP (RFC 6960 Appendix A)
//	GET  /                                   demo login page ("Demo-journalen")
//	POST /demo/start, GET /demo/collect, GET /demo/qr.png, POST /demo/cancel
//
// # Checks on completion
//
// The listener asks for a client certificate but does not verify it in the
// handshake (tls.RequestClientCert): the handler of /authn/v1/complete does,
// so a refused certificate gets a reply that says why ("expired",
// "revoked", "not issued by the HSA-ID person CA") instead of a bare TLS
// alert. It checks, in docs/protocol.md §5's order: the transaction is live;
// the certificate chains to the root through the HSA-ID person CA only, is
// valid now, has EKU clientAuth, KeyUsage digitalSignature without
// nonRepudiation and an HSA-ID as subject serialNumber; the service's own
// OCSP responder, asked in-process with a real DER request and its answer
// verified as a client would, says good; the challenge signature verifies
// with that certificate's key over oob.ToBeSigned; and no other completion
// won. A failure fails the order with hint certificateErr.
//
// # Orders
//
// Orders live 3 minutes; ended orders stay 5 more minutes for collect and
// are then forgotten, so memory is bounded by the orders of the last eight
// minutes and by Options.MaxOrders. Tokens index maps through their SHA-256
// and are then compared in constant time. One mutex guards the orders; the
// expensive checks run outside it, and the final state change is atomic, so
// of concurrent completions exactly one wins. Token buckets limit requests
// per relying-party key and per client IP (429 with Retry-After).
//
// # Logging
//
// One slog line per order event (started, looked up, completed, refused
// with the reason, cancelled). Tokens, secrets, challenges and signatures
// are never logged; the orderRef is, as relying parties log it.
package idp
