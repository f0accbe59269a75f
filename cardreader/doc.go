// Package cardreader talks to smart cards through PC/SC.
//
// # Monitor
//
// A Monitor watches readers and cards with SCardGetStatusChange on every
// reader plus the PnP pseudo-reader `\\?PnP?\Notification`, with an infinite
// timeout: it blocks in the PC/SC service while nothing happens, at no CPU
// cost, and never sends an APDU. Each reader's last state is fed back with
// the CHANGED bit cleared (Windows otherwise returns at once, forever).
// When the service goes away (pcscd restarted: SCARD_F_COMM_ERROR, then
// SCARD_E_NO_SERVICE forever; Windows stops its service with the last
// reader) the monitor reports ServiceLost, releases its context and
// establishes a new one with backoff (100 ms doubling to 5 s), then reports
// ServiceBack and the readers again. macOS has no PnP notification: there
// the monitor waits on the known readers with a timeout and lists them
// again (monitor_darwin.go).
//
// The user's card is chosen with a Selector: by card number, card ID or
// exact reader name, never by a substring of a reader name.
//
// # Cards
//
// Card is the abstraction over three backends: cardreader/idprime speaks
// the Thales IDPrime applet of real SITHS cards natively (no middleware),
// cardreader/piv serves PIV cards (YubiKey-style tokens, the virtual PIV
// card) and cardreader/pkcs11 every card with a PKCS#11 module (Thales SAC,
// OpenSC), the fallback. A card is opened for one operation and closed
// again: never held while idle. Open tries backends in order (IDPrime, PIV,
// then PKCS#11; OrderBackends applies a preference "auto", "idprime", "piv"
// or "pkcs11"). A card with a second, signature PIN implements
// SignaturePINCard.
//
// # Identity
//
// The SITHS identity (holder, HSA-ID, personal number, card number, issuer,
// LoA, validity, auth/sign usage, the login certificate) is read from the
// certificates on the card by IdentityFromCertificates. An IdentityCache
// keyed by backend and Card.ID makes a card put back in the reader cost its
// ID instead of every certificate. Personal numbers print masked.
//
// # PINs
//
// CheckPINPolicy refuses weak new PINs (length, digits, one repeated digit,
// runs, the holder's birth date) before they reach a card. PINs and PUKs
// travel in a Secret.
//
// # Errors
//
// Operations return sentinels (ErrCardRemoved, ErrNoReader, ErrNoService,
// ErrCardBusy, ErrPINBlocked, …) and typed errors (*WrongPINError,
// *WrongPUKError, *PINPolicyError, *PCSCError, *CardError), wrapped with
// context: test them with errors.Is and errors.As. A PC/SC return code
// becomes a *PCSCError that unwraps to its sentinel (FromPCSC).
//
// This package returns data and typed errors. It never logs and never imports
// Fyne or the app package (TestImports).
package cardreader
