package pkcs11

import (
	"context"
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader"
)

var (
	// ErrNoModule: the PKCS#11 module is not installed (no file at the
	// configured path, or none of the default paths exists).
	ErrNoModule = errors.New("PKCS#11 module not found")
	// ErrModuleLoad: the file exists but is not a loadable PKCS#11 module
	// (dlopen failed or it has no C_GetFunctionList).
	ErrModuleLoad = errors.New("PKCS#11 module could not be loaded")
	// ErrClosed: the Backend was closed.
	ErrClosed = errors.New("PKCS#11 backend closed")
	// ErrKeyNotFound: the certificate exists but the token shows no private
	// key with the same CKA_ID after login.
	ErrKeyNotFound = errors.New("private key not found")
	// ErrPINRejected: the token refused a new PIN before trying it (length
	// or characters outside what the token accepts, CKR_PIN_LEN_RANGE or
	// CKR_PIN_INVALID). No try was spent. It wraps
	// cardreader.ErrNewPINRejected, which the sentences and the local API
	// know.
	ErrPINRejected = fmt.Errorf("new PIN rejected by the token: %w", cardreader.ErrNewPINRejected)
	// ErrRemoveUnsupported: the module does not delete objects on this
	// token (C_DestroyObject answers CKR_FUNCTION_NOT_SUPPORTED, as OpenSC
	// 0.23 does in front of a PIV card, CKR_ACTION_PROHIBITED or
	// CKR_TOKEN_WRITE_PROTECTED, and OpenSC's idprime driver). It wraps
	// cardreader.ErrRemovalUnsupported, so callers that only know the
	// cardreader errors name what can remove it.
	ErrRemoveUnsupported = fmt.Errorf("PKCS#11 module cannot delete objects on this token: %w", cardreader.ErrRemovalUnsupported)
	// ErrUnblockUnsupported: the module offers no PKCS#11-level unblock for
	// this token (no SO login, or the SO login is refused, as OpenSC does in
	// front of a PIV card with CKR_GENERAL_ERROR). It wraps
	// cardreader.ErrNoPUK, so callers that only know the cardreader errors
	// tell the holder to see an ID administrator.
	ErrUnblockUnsupported = fmt.Errorf("PKCS#11 module cannot unblock the PIN with a PUK: %w", cardreader.ErrNoPUK)
)

// errAbandoned: the caller's context ended while a PKCS#11 call was still
// running; the call goes on in the background and holds the slot.
var errAbandoned = errors.New("PKCS#11 module still busy")

// bounded runs f on its own goroutine and returns its result, or the
// context's error as soon as ctx ends: a module call cannot be interrupted
// and may never return once a card is pulled mid-APDU.
func bounded[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case r := <-done:
			return r.v, r.err
		default:
		}
		var zero T
		return zero, fmt.Errorf("%w: %w", errAbandoned, ctx.Err())
	}
}

// ModuleError is a PKCS#11 module that could not be found, loaded or
// initialised. Err is ErrNoModule, ErrModuleLoad or the module's own
// C_Initialize error (a pkcs11.Error).
type ModuleError struct {
	Path string // the module path, or the candidate paths joined by ", "
	Err  error
}

func (e *ModuleError) Error() string {
	return fmt.Sprintf("pkcs11 module %s: %v", e.Path, e.Err)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// rv returns the CK_RV of err, or 0 (CKR_OK) when err is not a PKCS#11
// return value.
func rv(err error) uint {
	var e pkcs11.Error
	if errors.As(err, &e) {
		return uint(e)
	}
	return 0
}

// removedRV are the return values a module gives once the token has left
// its slot (PKCS#11 v2.40 §5.1: CKR_TOKEN_NOT_PRESENT "the token was not
// present in its slot at the time the function was invoked",
// CKR_DEVICE_REMOVED "the token was removed from its slot during the
// execution of the function"; sessions die with the token, so later calls
// see CKR_SESSION_HANDLE_INVALID or CKR_SESSION_CLOSED).
func removedRV(r uint) bool {
	switch r {
	case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED,
		pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED:
		return true
	}
	return false
}

// mapErr turns the return values that mean "card removed" into
// cardreader.ErrCardRemoved, keeping the PKCS#11 error in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if removedRV(rv(err)) {
		return fmt.Errorf("%w (%w)", cardreader.ErrCardRemoved, err)
	}
	return err
}

// formRV are the return values a module gives for a PIN it will not even
// try: PKCS#11 v2.40 §5.1 CKR_PIN_LEN_RANGE and CKR_PIN_INVALID, and, from
// modules that check the argument before the PIN rules, CKR_DATA_INVALID
// and CKR_ARGUMENTS_BAD (seen for a 4-digit or lettered PIN).
func formRV(r uint) bool {
	switch r {
	case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID,
		pkcs11.CKR_DATA_INVALID, pkcs11.CKR_ARGUMENTS_BAD:
		return true
	}
	return false
}

// wrongForm is the typed error for a PIN (so false) or PUK (so true) that
// does not have the form of one: *cardreader.PINPolicyError with Reason
// PINWrongForm or PUKWrongLength, as the other backends return.
func wrongForm(so bool) *cardreader.PINPolicyError {
	if so {
		return &cardreader.PINPolicyError{Reason: cardreader.PUKWrongLength}
	}
	return &cardreader.PINPolicyError{Reason: cardreader.PINWrongForm}
}

// checkForm refuses, before the module is called, a PIN that is not 6–8
// digits or a PUK that is not 8 digits.
func checkForm(so bool, pin *cardreader.Secret) error {
	if so {
		if cardreader.CheckPUKFormat(pin) != nil {
			return wrongForm(true)
		}
		return nil
	}
	if cardreader.CheckPINFormat(pin) != nil {
		return wrongForm(false)
	}
	return nil
}

// formError turns a login's form return value into the typed "wrong form"
// error, keeping the module's error in the chain; nil for anything else.
func formError(so bool, err error) error {
	if err == nil || !formRV(rv(err)) {
		return nil
	}
	return fmt.Errorf("%w (%w)", wrongForm(so), err)
}
