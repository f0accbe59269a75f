// Package vcard is a virtual SITHS card of one of two kinds, its state in a
// directory, and a Server that puts it in a vsmartcard vpcd reader of pcscd:
//
//   - KindPIV (the default, and every state written before kinds): a PIV
//     card application (NIST SP 800-73-4) with the YubiKey extensions
//     piv-go needs.
//   - KindIDPrime: a Thales IDPrime 940, what real SITHS cards are, as far
//     as public facts describe one (see "The IDPrime card" below).
//
// One Card type serves both: Server, stats, latency profiles, the drop
// fault and the inspection helpers work the same for either kind.
//
// It serves tests, benchmarks and the training demo; it is not shipped to
// users.
//
// # The PIV card
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
// # The IDPrime card
//
// No public specification of the IDPrime 940 exists. What this card does
// comes from /work/shared/FIELD-NOTES.md ("IDPrime 940") and from OpenSC's
// idprime driver (src/libopensc/card-idprime.c, pkcs15-idprime.c), the one
// independent implementation, and is written down as a wire contract in
// /work/notes/idprime-contract.md, shared with cardreader/idprime. Public
// (OpenSC's source): the ATR pattern, the applet AID, the CPLC length and
// the byte holding the applet generation (V4), the 0101 index format, the
// cardid/cmapfile/tinfo/0005 files and the minidriver names kxcNN/kscNN in
// mscp, the compressed certificate form 01 00 <len LE16> <zlib> (the only
// one OpenSC 0.23 reads), key reference 0x56+n for container n, PIN
// reference 11 (and 83 on the 940), PIN padding (ASCII digits, 00 to 16
// bytes), MSE SET 41 B6 with algorithm 42/52/62 (PKCS#1 v1.5 over a
// SHA-256/384/512 hash), 45/55/65 (PSS), 02 (a DigestInfo), PSO HASH (the
// card echoes the hash) then PSO COMPUTE DIGITAL SIGNATURE. Chosen (not
// public, each a named constant): the ATR's variable bytes, the rest of the
// CPLC, the applet version "4.3.5.D", the token label "SITHS eID", the file
// layout 0201..0207, the cmapfile GUIDs, the PUK (8 digits, 3 tries, its
// tries read with an empty VERIFY of reference 12, used only by RESET RETRY
// COUNTER 00 2C 00 <PIN ref>), and every status word the contract lists for
// an error.
//
// Contents: the HSA-ID authentication key and certificate (container 0,
// "kxc00", key 56, PIN 11), as on SITHS cards issued since 2024; with
// ProvisionOptions.WithSigning also the HSA-ID signing key and certificate
// (container 1, "ksc01", key 57) under the signature PIN 83
// (DefaultSignPIN). Keys are RSA-2048. The cardid (16 bytes, an 8-byte
// value twice) is derived from the card number, so every card has its own
// and OpenSC's file cache never mixes two cards up.
//
// Commands: SELECT of the applet (P1 04) and of files (P1 08, and P1 00 as
// OpenSC selects certificates), READ BINARY, GET DATA 9F7F (CPLC) and DF30
// (applet version), VERIFY (an empty one reads the tries), CHANGE REFERENCE
// DATA and RESET RETRY COUNTER for PINs 11 and 83, MSE SET, PSO HASH and
// PSO CDS, GET RESPONSE. Short APDUs only, CLA 00. Security status is lost
// on power-off and reset. OpenSC 0.23 (Debian 12) lists the certificates,
// signs with PKCS#1 v1.5 and PSS, changes and unblocks PIN 11 and reports
// its tries; it knows no PIN 83, so it cannot sign with the signing key
// (cmd/sithseid-vcard's conformance tests check all of this).
//
// # State
//
// Provision writes a card issued by internal/testkit/testpki into a directory;
// Load reads it back. The state (kind, keys, objects or IDPrime containers,
// PINs and PUK as salted PBKDF2 hashes with their counters, management key,
// serial, version) is one JSON file, card.json, written atomically (temporary file, fsync,
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
// powered the card up: open it with PC/SC only then (a client that opens it
// sooner may reach the card pcscd still thinks is there).
//
// Measured through pcscd with piv-go (BenchmarkAPDURoundTrip, 2 cores): a
// median of ~0.1 ms per APDU with TCP_QUICKACK, ~44 ms without.
package vcard
