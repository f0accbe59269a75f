package pkcs11

import (
	"errors"
	"fmt"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader"
)

// A PIN or PUK of the wrong form is the typed "wrong form" error, both when
// caught before the module is called and when the module refuses it with
// a form return value (never "Något gick fel: CKR_DATA_INVALID").
func TestWrongFormPIN(t *testing.T) {
	reason := func(err error) cardreader.PINPolicyReason {
		var pe *cardreader.PINPolicyError
		if !errors.As(err, &pe) {
			return 0
		}
		return pe.Reason
	}
	for _, tc := range []struct {
		so   bool
		pin  string
		want cardreader.PINPolicyReason // 0: passes
	}{
		{false, "1234", cardreader.PINWrongForm},
		{false, "abcdef", cardreader.PINWrongForm},
		{false, "123456789", cardreader.PINWrongForm},
		{false, "123456", 0},
		{true, "1234567", cardreader.PUKWrongLength},
		{true, "abcdefgh", cardreader.PUKWrongLength},
		{true, "12345678", 0},
	} {
		if got := reason(checkForm(tc.so, cardreader.NewSecret([]byte(tc.pin)))); got != tc.want {
			t.Errorf("checkForm(%v, %q) = %v, want %v", tc.so, tc.pin, got, tc.want)
		}
	}
	for _, r := range []uint{pkcs11.CKR_DATA_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_ARGUMENTS_BAD, pkcs11.CKR_PIN_INVALID} {
		modErr := fmt.Errorf("login: %w", pkcs11.Error(r))
		err := formError(false, modErr)
		if reason(err) != cardreader.PINWrongForm || rv(err) != r {
			t.Errorf("user 0x%X: %v", r, err)
		}
		var wrong *cardreader.WrongPINError
		if errors.As(err, &wrong) {
			t.Errorf("user 0x%X: a wrong PIN: %v", r, err)
		}
		if err := formError(true, modErr); reason(err) != cardreader.PUKWrongLength {
			t.Errorf("SO 0x%X: %v", r, err)
		}
	}
	for _, r := range []uint{pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_GENERAL_ERROR} {
		if err := formError(false, pkcs11.Error(r)); err != nil {
			t.Errorf("0x%X taken for a wrong form: %v", r, err)
		}
	}
}
