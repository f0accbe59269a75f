// Package piv is the cardreader backend for PIV cards (NIST SP 800-73-4)
// that answer Yubico's extensions: YubiKeys, and the project's virtual
// card.
//
// # Layers
//
// The card is spoken to by the package's own APDU layer, over the
// project's one PC/SC binding (cardreader/pcsc: shared access inside a
// transaction, retried while another program holds the card):
//
//   - apdu.go: the session (SELECT of the PIV application, short APDUs with
//     chaining and GET RESPONSE, extended-length GET DATA with a fall back
//     to short APDUs), the data objects (CHUID, key history, certificates),
//     PIN and PUK tries with Yubico's GET METADATA (nothing spent; the PIN
//     else by an empty VERIFY, the PUK else -1, since SP 800-73-4 offers no
//     way to read its tries for free), management-key mutual
//     authentication, and deleting a certificate (PUT DATA of an empty
//     object);
//   - secret.go: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and the
//     read of the PIN-protected management key. A PIN or PUK goes from the
//     cardreader.Secret's bytes into the APDU buffer, which is zeroed once
//     sent; the answer holding the management key is zeroed once it is
//     copied out;
//   - sign.go: GENERAL AUTHENTICATE with the key in a slot. The card does
//     raw RSA or ECDSA (P-256, P-384); the RSA encodings, PKCS#1 v1.5 and
//     PSS (RFC 8017 sections 9.1.1 and 9.2), are made on the host.
//
// github.com/go-piv/piv-go/v2, as published, supplies the slot
// definitions (key references and certificate objects) and the default
// management key. Its card API is not used: piv.Open connects
// exclusively and, when a card is pulled in the middle of it (after the
// connect, before SELECT answers), keeps that exclusive handle and its
// PC/SC context, so pcscd refuses the reader to everybody
// (SCARD_E_SHARING_VIOLATION) until the process exits; it takes PINs and
// PUKs as Go strings, which cannot be wiped; and it keeps PC/SC return
// codes in an unexported type. Here a failed connect or SELECT releases
// the connection (cardreader/pcsc), PINs stay in bytes that are wiped, and
// PC/SC codes come as *cardreader.PCSCError.
//
// # Card handling
//
// Open claims a card whose PIV application answers Yubico's GET VERSION
// with three bytes (the test piv-go's Open makes); any other card is left
// to the next backend with cardreader.ErrUnsupportedCard. Every operation
// opens a session, does its work and closes it; operations on one reader
// are serialised by a mutex. A PIN is checked for form (6–8 digits) before
// it reaches the card, and a blocked PIN or PUK is refused without a try.
// Signing verifies the PIN and signs in the same session. After an
// operation that presented the PIN, the PUK or the management key, the
// card is reset when released (SP 800-73-4 Part 2 section 3.1.1: the
// security status is lost on reset), so that no other program finds it
// unlocked.
//
// Errors: 63Cx and 6983 after a PIN or PUK become
// *cardreader.WrongPINError or *cardreader.WrongPUKError with the tries
// left; PC/SC return codes become *cardreader.PCSCError (card removed, no
// reader, no service, card busy); other status words
// *cardreader.CardError; an answer without a status word is explained by
// asking PC/SC about the reader (card removed or unresponsive).
package piv
