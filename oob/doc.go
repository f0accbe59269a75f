// Package oob implements the out-of-band login protocol (docs/protocol.md):
// its messages, strict parsing of the sithseid: URL and of every server
// reply, the authenticator client, and the animated QR payload.
//
// # Messages
//
// Every request and reply of the relying-party API (AuthRequest,
// CollectResponse, …) and of the authenticator API (LookupRequest,
// LookupResponse, CompleteRequest, …) is a struct implementing Message.
// Decode reads one strictly: at most MaxBodySize bytes of valid UTF-8, exact
// and unique keys, no unknown fields, required fields present, nothing
// after the value, then Message.Validate (canonical UUIDs, strict base64, a
// 32-byte challenge, bounded texts without control or bidirectional
// formatting characters). Encode validates before marshalling, so neither
// side sends what the other must refuse. Every decoding error is a
// *DecodeError matching ErrMalformed.
//
// # URL and QR code
//
// ParseAutoStartURL parses "sithseid:///?autostarttoken=…&redirect=…" as
// strictly as a URL that any web page can open deserves. QRPayload,
// ParseQRPayload and VerifyQRPayload implement the animated QR code
// ("sithseid.<qrStartToken>.<t>.<hex HMAC-SHA256(qrStartSecret, t)>",
// BankID's construction), and QRPNG renders one for a phone to scan.
//
// # Signing the challenge
//
// ToBeSigned builds the message the card signs to complete a login (domain
// string, challenge, hashes of the relying party's name and text);
// SignChallenge signs it with a crypto.Signer (RSA PKCS#1 v1.5 or PSS,
// ECDSA) and VerifyChallenge is the service's check.
//
// # Clients
//
// Client is the authenticator (the desktop app): Lookup, QR, Complete over
// mutual TLS, Cancel. RPClient is a relying party: Auth, Collect, Cancel.
// Neither configures TLS (the caller passes http.Clients with pinned trust
// anchors, and for completion one built by package mtls with the card's
// key); neither follows redirects; only idempotent calls are retried, on 429
// and 503, bounded by RetryPolicy. Service errors are *ServiceError, which
// matches ErrExpired, ErrAlreadyCompleted and ErrRateLimited; a reply that
// does not parse is ErrMalformedReply.
//
// The package does not log, and imports neither the app, the UI, the card
// layer nor Fyne (TestDependencies). Errors never contain tokens, secrets
// or the API key.
package oob
