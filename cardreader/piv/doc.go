// Package piv is the cardreader backend for PIV cards (NIST SP 800-73-4),
// through github.com/go-piv/piv-go/v2.
//
// # Layers
//
// PIN verification, PIN change, unblock (RESET RETRY COUNTER), the
// PIN-protected management key (piv-go's Metadata) and signing go through
// piv-go, in a patched copy of v2.6.0 (internal/pivgo; see its README: the
// upstream Open leaks an exclusive card handle when a card is pulled in the
// middle of it, which locks the reader until the process exits; and upstream
// takes PINs and PUKs as strings, which cannot be wiped, where the copy takes
// the bytes of the cardreader.Secret and zeroes the APDU buffers after
// transmit).
//
// piv-go cannot read arbitrary data objects, delete objects or report the
// PUK's tries, so a small APDU layer (apdu.go, over cardreader/pcsc,
// shared access inside a transaction) reads the CHUID (Card.ID), the key
// history and the certificate objects (extended-length GET DATA, falling
// back to short APDUs), reads PIN and PUK tries with Yubico's GET METADATA
// (nothing spent; a card without it reports the PUK's tries as -1, since SP
// 800-73-4 offers no way to read them for free), and deletes certificates
// (management-key mutual authentication, then PUT DATA of an empty object).
// The two layers never hold the card at the same time.
//
// # Card handling
//
// Every operation opens the card, does its work and closes it; operations on
// one reader are serialised by a mutex. A PIN is checked for form (6–8
// digits) before it reaches the card, and a blocked PIN or PUK is refused
// without a try. After an operation that verified the PIN or the management
// key the card is reset when released, so that no other program finds it
// unlocked (piv-go disconnects with SCARD_LEAVE_CARD).
//
// Errors: piv-go's AuthErr becomes *cardreader.WrongPINError or
// *cardreader.WrongPUKError with the tries left; PC/SC return codes become
// *cardreader.PCSCError (card removed, no reader, no service, card busy);
// other status words *cardreader.CardError.
package piv
