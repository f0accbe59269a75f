package cardreader

import (
	"context"
	"crypto"
	"crypto/x509"
)

// Backend names, as reported by Card.Backend and in "sithseid status --json".
const (
	BackendPIV     = "piv"
	BackendPKCS11  = "pkcs11"
	BackendIDPrime = "idprime"
)

// Reader is one PC/SC reader as the monitor last saw it.
type Reader struct {
	Name        string
	CardPresent bool
	ATR         []byte // nil when no card is present
}

// Backend opens the cards of one technology (IDPrime, PIV or PKCS#11).
type Backend interface {
	// Name is BackendIDPrime, BackendPIV or BackendPKCS11.
	Name() string
	// Open returns the card in reader if this backend can serve it, or an
	// error wrapping ErrUnsupportedCard if it cannot. It may send a few APDUs
	// (PIV: SELECT) and must release the card before it returns.
	Open(ctx context.Context, reader Reader) (Card, error)
}

// Card is one inserted card. Every method opens the card, does one
// operation and releases it again: a Card never holds the card while idle,
// so browsers and other middleware can use it in between.
//
// Methods may be called from several goroutines; implementations serialise
// access to the physical card themselves (two concurrent signatures on one
// card fail).
//
// A Card is bound to the physical card it was opened on (and whose ID it
// read first): VerifyPIN, ChangePIN, UnblockPIN, its signers' Sign and
// RemoveCertificate return an error wrapping ErrCardChanged, having sent
// nothing that presents a secret or spends a try, when another card has
// taken that card's place in the reader. The same card put back works.
type Card interface {
	// Backend is BackendIDPrime, BackendPIV or BackendPKCS11.
	Backend() string
	// Reader is the PC/SC reader the card sits in ("" when the backend has
	// no reader, e.g. SoftHSM).
	Reader() string
	// ID identifies the card cheaply and stably (PIV: CHUID GUID/FASC-N or
	// serial; PKCS#11: token serial), for caching its identity.
	ID(ctx context.Context) (string, error)
	// Certificates reads every certificate on the card.
	Certificates(ctx context.Context) ([]Certificate, error)

	// PINStatus reads the identification PIN's tries left without
	// spending one. PINStatus, VerifyPIN, ChangePIN and UnblockPIN act on
	// the identification PIN, the one login and mutual TLS use; a card
	// with a second, signature PIN implements SignaturePINCard too.
	PINStatus(ctx context.Context) (PINStatus, error)
	// PUKStatus reads the PUK's tries left without spending one, or returns
	// ErrNoPUK when the card has no PUK the holder can use.
	PUKStatus(ctx context.Context) (PINStatus, error)
	// VerifyPIN checks pin. A wrong PIN returns *WrongPINError.
	VerifyPIN(ctx context.Context, pin *Secret) error
	// ChangePIN replaces oldPIN with newPIN. It does not apply the PIN
	// policy: callers check CheckPINPolicy first.
	ChangePIN(ctx context.Context, oldPIN, newPIN *Secret) error
	// UnblockPIN resets the PIN's retry counter with the PUK and sets newPIN.
	UnblockPIN(ctx context.Context, puk, newPIN *Secret) error

	// Signer returns a signer for the private key that belongs to the
	// certificate certID. Each Sign opens the card, verifies pin, signs and
	// releases the card. The caller owns pin and wipes it when the operation
	// is over; the signer must not be used after that.
	//
	// The returned signer implements PSSCapable.
	Signer(ctx context.Context, certID string, pin *Secret) (crypto.Signer, error)

	// RemoveCertificate deletes the certificate certID (and, where the
	// backend can, its key). Refusing to remove the login certificate without
	// confirmation is the caller's job.
	RemoveCertificate(ctx context.Context, certID string, auth RemoveAuth) error
}

// PINRef names one of a card's PINs.
type PINRef string

// The PINs of a SITHS card. New cards (2024 and later) have only the
// identification PIN ("legitimeringskod"); older cards may have a second
// PIN for their signing keys ("underskriftskod").
const (
	// PINIdentification unlocks the authentication keys: login and mutual
	// TLS (IDPrime reference 0x11, PIV 80).
	PINIdentification PINRef = "identification"
	// PINSignature unlocks the signing keys of cards that have one
	// (IDPrime reference 0x83).
	PINSignature PINRef = "signature"
)

// SignaturePINCard is implemented by cards that may carry a second,
// signature PIN (IDPrime). Its methods act on that PIN the way PINStatus,
// ChangePIN and UnblockPIN act on the identification PIN, and return
// ErrNoSignaturePIN when this card has none.
type SignaturePINCard interface {
	Card
	// SignaturePINStatus reads the signature PIN's tries left without
	// spending one.
	SignaturePINStatus(ctx context.Context) (PINStatus, error)
	// ChangeSignaturePIN replaces oldPIN with newPIN; no PIN policy.
	ChangeSignaturePIN(ctx context.Context, oldPIN, newPIN *Secret) error
	// UnblockSignaturePIN resets the signature PIN's retry counter with
	// the PUK and sets newPIN.
	UnblockSignaturePIN(ctx context.Context, puk, newPIN *Secret) error
}

// RemovalSupported reports whether c can remove certificates at all, so a
// caller can refuse before it asks the holder for a PIN. A card says no by
// implementing RemovalSupported() bool; every other card can try.
func RemovalSupported(c Card) bool {
	r, ok := c.(interface{ RemovalSupported() bool })
	return !ok || r.RemovalSupported()
}

// PSSCapable is implemented by the signers a Card returns. mtls caps TLS at
// 1.2 for RSA keys that cannot sign RSA-PSS.
type PSSCapable interface {
	SupportsPSS() bool
}

// Certificate is one certificate on a card.
type Certificate struct {
	// ID is the backend's stable name for the certificate and its key:
	// the PIV slot in lower-case hex ("9a", "9c", "82"), or the PKCS#11
	// CKA_ID in lower-case hex.
	ID    string
	Label string // PKCS#11 CKA_LABEL, or the PIV slot's name
	Cert  *x509.Certificate
}

// PINStatus tells how many tries a PIN or PUK has left.
type PINStatus struct {
	// Retries is the number of tries left, or -1 when the card does not
	// say. PKCS#11 only reports flags; they map to 3, 2, 1 and 0 for the
	// SITHS policy of three tries.
	Retries int
	// Blocked is true when no tries are left.
	Blocked bool
}

// RemoveAuth carries what a backend needs to delete objects.
type RemoveAuth struct {
	// PIN logs in (PKCS#11) or unlocks a PIN-protected management key (PIV).
	PIN *Secret
	// ManagementKey is a PIV management key given by policy or an
	// administrator. Nil means the card's PIN-protected key, then the
	// default key.
	ManagementKey *Secret
}
