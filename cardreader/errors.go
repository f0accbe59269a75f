package cardreader

import (
	"errors"
	"fmt"
)

// Sentinel errors. Backends wrap them with context; callers test them with
// errors.Is.
var (
	ErrNoService       = errors.New("smart card service not available")
	ErrNoReader        = errors.New("no card reader")
	ErrNoCard          = errors.New("no card in the reader")
	ErrCardRemoved     = errors.New("card removed")
	ErrUnsupportedCard = errors.New("card not supported by this backend")
	ErrPINBlocked      = errors.New("PIN blocked")
	ErrPUKBlocked      = errors.New("PUK blocked")
	// ErrNoPUK: the card has no PUK the holder can use. Cards from the 2024
	// SITHS eID portal (7XX product codes) get theirs from an ID administrator.
	ErrNoPUK = errors.New("no PUK known for this card")
	// ErrCertificateNotFound: no certificate with the given ID.
	ErrCertificateNotFound = errors.New("certificate not found")
	// ErrManagementKey: the PIV management key was refused.
	ErrManagementKey = errors.New("management key refused")
	// ErrNoSignaturePIN: the card has no signature PIN (a SITHS card from
	// 2024 or later has only the identification PIN).
	ErrNoSignaturePIN = errors.New("card has no signature PIN")
	// ErrRemovalUnsupported: this backend cannot delete objects on this
	// card (no public source says how the IDPrime applet deletes one); the
	// card vendor's PKCS#11 module can.
	ErrRemovalUnsupported = errors.New("certificate removal not supported by this backend")
)

// WrongPINError is a rejected PIN with the tries the card says are left.
type WrongPINError struct{ Retries int }

func (e *WrongPINError) Error() string {
	return fmt.Sprintf("wrong PIN (%d tries left)", e.Retries)
}

// Is makes a wrong PIN with no tries left match ErrPINBlocked.
func (e *WrongPINError) Is(target error) bool {
	return target == ErrPINBlocked && e.Retries == 0
}

// WrongPUKError is a rejected PUK with the tries the card says are left.
type WrongPUKError struct{ Retries int }

func (e *WrongPUKError) Error() string {
	return fmt.Sprintf("wrong PUK (%d tries left)", e.Retries)
}

// Is makes a wrong PUK with no tries left match ErrPUKBlocked.
func (e *WrongPUKError) Is(target error) bool {
	return target == ErrPUKBlocked && e.Retries == 0
}

// More sentinels, added with the PC/SC error mapping (issue 3).
var (
	// ErrCardBusy: another program holds the card (SCARD_E_SHARING_VIOLATION),
	// typically a browser's middleware in the middle of its own transaction.
	// Retrying a moment later usually works.
	ErrCardBusy = errors.New("card in use by another program")
	// ErrCardUnresponsive: the card does not answer (mute, unpowered or not
	// responding to a reset).
	ErrCardUnresponsive = errors.New("card does not respond")
	// ErrAmbiguousCard: several cards match and none was chosen by card
	// number or serial.
	ErrAmbiguousCard = errors.New("several cards present: choose one by card number")
	// ErrCardChanged: the card in the reader is not the one the operation
	// was asked for (another card was put in its place since it was
	// read). No PIN, PUK or key was presented to it: no try was used.
	ErrCardChanged = errors.New("the card in the reader is not the one the operation was asked for")
	// ErrNewPINRejected: the card or its module refused a new PIN before
	// trying it (a length or characters outside what the token takes,
	// although the product's PIN rules allow it). No try was used.
	ErrNewPINRejected = errors.New("new PIN rejected by the card")
)

// PINPolicyReason says why CheckPINPolicy or CheckPUKFormat refused a value.
type PINPolicyReason int

// Reasons a new PIN (or a PUK) is refused. See CheckPINPolicy.
const (
	PINTooShort      PINPolicyReason = iota + 1 // fewer than MinPINLength digits
	PINTooLong                                  // more than MaxPINLength digits
	PINNotDigits                                // anything but 0–9
	PINRepeatedDigit                            // one digit repeated: 111111
	PINAscending                                // 123456, 890123 (wrapping)
	PINDescending                               // 654321, 109876 (wrapping)
	PINBirthDate                                // the holder's birth date in a common format
	PUKWrongLength                              // a PUK is exactly PUKLength digits (also: not only digits)
	// PINWrongForm: the current PIN the holder typed is not 6–8 digits,
	// so it cannot be the card's PIN; refused before a try is spent. Not
	// about the new PIN (see CheckPINFormat).
	PINWrongForm
)

var pinPolicyReasonText = map[PINPolicyReason]string{
	PINTooShort:      "too short",
	PINTooLong:       "too long",
	PINNotDigits:     "not only digits",
	PINRepeatedDigit: "one repeated digit",
	PINAscending:     "ascending run",
	PINDescending:    "descending run",
	PINBirthDate:     "the holder's birth date",
	PUKWrongLength:   "wrong length",
	PINWrongForm:     "current PIN not 6-8 digits",
}

func (r PINPolicyReason) String() string {
	if s, ok := pinPolicyReasonText[r]; ok {
		return s
	}
	return fmt.Sprintf("PINPolicyReason(%d)", int(r))
}

// PINPolicyError is a new PIN (or PUK) refused before it reaches the card.
// It never carries the value itself.
type PINPolicyError struct{ Reason PINPolicyReason }

func (e *PINPolicyError) Error() string {
	return "PIN refused by policy: " + e.Reason.String()
}

// PCSCError is a PC/SC return code (SCARD_E_*, SCARD_W_*, SCARD_F_*). It
// unwraps to the sentinel it means (ErrCardRemoved, ErrNoService, …), so
// callers test errors.Is(err, ErrCardRemoved) and logs keep the code.
type PCSCError struct{ Code uint32 }

func (e *PCSCError) Error() string {
	if name, ok := pcscNames[e.Code]; ok {
		return fmt.Sprintf("PC/SC %s (0x%08X)", name, e.Code)
	}
	return fmt.Sprintf("PC/SC error 0x%08X", e.Code)
}

// Unwrap returns the sentinel for the code, or nil when there is none.
func (e *PCSCError) Unwrap() error { return pcscSentinels[e.Code] }

// Is lets SCARD_E_NO_SMARTCARD match ErrNoCard as well as ErrCardRemoved:
// at connect time it means the reader is empty, later that the card left.
func (e *PCSCError) Is(target error) bool {
	return target == ErrNoCard && e.Code == pcscENoSmartcard
}

// CardError is a status word from the card that has no more specific
// meaning to this package (ISO/IEC 7816-4 section 5.1.3).
type CardError struct{ SW uint16 }

func (e *CardError) Error() string { return fmt.Sprintf("card returned status %04X", e.SW) }

// ErrNoAnswer marks a command that may have changed the card (CHANGE
// REFERENCE DATA, RESET RETRY COUNTER, PUT DATA, …) and that the reader
// took but that got no answer: the card was pulled or stopped answering
// after the command went out, so whether it took effect is not known.
// It comes wrapped together with ErrCardRemoved or ErrCardUnresponsive
// (what the reader shows afterwards), so callers that only test those
// still see the removal. A command that failed before it reached the
// reader (PC/SC's own "card removed" answers) is not marked.
var ErrNoAnswer = errors.New("the card got the command but no answer came back")
