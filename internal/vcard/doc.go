// Package vcard is a virtual SITHS card: a PIV card application (NIST SP
// 800-73-4) with the YubiKey extensions piv-go needs, its state in a
// directory, and a Server that puts it in a vsmartcard vpcd reader of pcscd.
//
// It serves tests, benchmarks and the training demo; it is not shipped to
// users.
//
// # The card
//
// Card.Transmit takes one C-APDU and returns the R-APDU. Implemented:
//
//   - SELECT of the PIV AID (right-truncated from A0 00 00 03 08), answering
//     the application property template (Part 2 §3.1.1); SELECT of YubiKey's
//     management AID leaves the PIV application and its security status.
//   - GET DATA / PUT DATA (Part 2 §3.1.2, §3.3.1) of CHUID, CCC, discovery
//     object, key history (so OpenSC sees retired slots 82 and 83), printed
//     information (PIN-protected), the certificate objects and Yubico's
//     ADMIN DATA. PUT DATA needs the management key.
//   - VERIFY (an empty VERIFY reads the tries left: 63Cx, or 9000 once
//     verified; 6983 when blocked), CHANGE REFERENCE DATA (PIN 80, PUK 81)
//     and RESET RETRY COUNTER (Part 2 §3.2). The PIN is 6–8 digits padded
//     with FF, the PUK 8 digits; both have 3 tries. A try is spent and
//     written to disk before the comparison and given back only on a match.
//   - GENERAL AUTHENTICATE (Part 2 §3.2.4): raw RSA-2048 on a host-padded
//     block (so PKCS#1 v1.5 and PSS both work), ECDSA P-256 over a digest,
//     ECDH P-256, and management-key authentication (mutual with a witness,
//     or a card challenge) with 3DES and AES-128/192/256.
//   - GENERATE ASYMMETRIC KEY PAIR (RSA-2048, P-256; needs the management
//     key), and Yubico's GET VERSION, GET SERIAL, GET METADATA, IMPORT KEY,
//     SET MANAGEMENT KEY, SET PIN RETRIES and RESET.
//   - Command chaining (CLA 10), GET RESPONSE (61xx), short and extended
//     APDUs.
//
// PIN policies follow YubiKey's: a key with policy "once" (9A, 82) needs the
// PIN verified in this session; "always" (9C, 83) needs a VERIFY before
// every use. Security status is lost on power-off, reset and selecting
// another application.
//
// # State
//
// Provision writes a card issued by internal/testpki into a directory;
// Load reads it back. The state (keys, objects, PIN and PUK as salted
// PBKDF2 hashes with their counters, management key, serial, version) is
// one JSON file, card.json, written atomically (temporary file, fsync,
// rename) after every change. PIN and PUK bytes are never stored, traced
// or logged.
//
// By default the management key is a random AES-192 key stored the way
// YubiKey Manager does it: readable after PIN verification in PRINTED
// (5FC109) as 88 { 89 key }, flagged in ADMIN DATA (5FFF00), so piv-go's
// Metadata(pin) finds it.
//
// # The reader
//
// Server connects the card to vpcd over TCP (the card is the client; vpcd
// speaks first; 2-byte length-prefixed messages; 1-byte payloads are power
// off/on, reset and get-ATR). Connecting inserts the card, closing removes
// it. Server sets TCP_QUICKACK before every read and writes each reply in
// one Write, which takes a round trip from ~48 ms to well under 1 ms.
// Remove, Insert and SetDropAfter emulate pulling the card; a pulled card
// stays out at least RunOptions.MinRemoved, so pcscd (which polls vpcd
// every 400 ms) always sees the removal. WaitReady returns once pcscd has
// powered the card up: open it with PC/SC only then. (piv-go v2.6.0's Open
// leaks its exclusive handle when SELECT fails, which locks the reader for
// the rest of the process: SCARD_E_SHARING_VIOLATION.)
//
// Measured through pcscd with piv-go (BenchmarkAPDURoundTrip, 2 cores): a
// median of ~0.1 ms per APDU with TCP_QUICKACK, ~44 ms without.
package vcard
