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
