package cardreader

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckPINPolicy(t *testing.T) {
	birth := time.Date(1990, 1, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		pin  string
		want PINPolicyReason // 0: accepted
	}{
		{"24681357", 0},
		{"135792", 0},
		{"5029171", 0},
		{"12345", PINTooShort},
		{"", PINNotDigits},
		{"123456789", PINTooLong},
		{"12345a", PINNotDigits},
		{"123 456", PINNotDigits},
		{"111111", PINRepeatedDigit},
		{"00000000", PINRepeatedDigit},
		{"123456", PINAscending},
		{"345678", PINAscending},
		{"890123", PINAscending}, // wraps past 9
		{"12345678", PINAscending},
		{"987654", PINDescending},
		{"210987", PINDescending},  // wraps past 0
		{"900131", PINBirthDate},   // YYMMDD
		{"310190", PINBirthDate},   // DDMMYY
		{"013190", PINBirthDate},   // MMDDYY
		{"19900131", PINBirthDate}, // YYYYMMDD
		{"31011990", PINBirthDate}, // DDMMYYYY
		{"01311990", PINBirthDate}, // MMDDYYYY
		{"19903101", PINBirthDate}, // YYYYDDMM
		{"7900131", PINBirthDate},  // inside a longer PIN
		{"9001314", PINBirthDate},
		{"900132", 0}, // not the date
		{"123457", 0}, // almost a run
	} {
		s := NewSecret([]byte(tc.pin))
		err := CheckPINPolicy(s, birth)
		var pe *PINPolicyError
		switch {
		case tc.want == 0 && err != nil:
			t.Errorf("%q refused: %v", tc.pin, err)
		case tc.want != 0 && !errors.As(err, &pe):
			t.Errorf("%q: err = %v, want %v", tc.pin, err, tc.want)
		case tc.want != 0 && pe.Reason != tc.want:
			t.Errorf("%q: reason %v, want %v", tc.pin, pe.Reason, tc.want)
		}
		if s.Len() != len(tc.pin) {
			t.Errorf("%q: the check changed the secret", tc.pin)
		}
	}
	// No birth date known: a date-shaped PIN passes.
	if err := CheckPINPolicy(NewSecret([]byte("900131")), time.Time{}); err != nil {
		t.Errorf("zero birth date: %v", err)
	}
	// The error never carries the PIN.
	err := CheckPINPolicy(NewSecret([]byte("777777")), birth)
	if err == nil || strings.Contains(err.Error(), "777777") {
		t.Errorf("error %v", err)
	}
}

func TestCheckPUKFormat(t *testing.T) {
	for pin, want := range map[string]PINPolicyReason{
		"12345678": 0, "1234567": PUKWrongLength, "123456789": PUKWrongLength,
		// Letters are a PUK of the wrong form too, not a refused new PIN.
		"1234567x": PUKWrongLength, "abcdefgh": PUKWrongLength, "": PUKWrongLength,
	} {
		err := CheckPUKFormat(NewSecret([]byte(pin)))
		var pe *PINPolicyError
		if want == 0 {
			if err != nil {
				t.Errorf("%q: %v", pin, err)
			}
			continue
		}
		if !errors.As(err, &pe) || pe.Reason != want {
			t.Errorf("%q: %v, want %v", pin, err, want)
		}
	}
}

// A current PIN of the wrong form is PINWrongForm, never a new-PIN reason;
// a weak but well-formed PIN (111111, 123456) may be the card's PIN.
func TestCheckPINFormat(t *testing.T) {
	for pin, ok := range map[string]bool{
		"246813": true, "111111": true, "123456": true, "12345678": true,
		"1234": false, "123456789": false, "12345a": false, "abcdef": false, "": false, "123 456": false,
	} {
		err := CheckPINFormat(NewSecret([]byte(pin)))
		var pe *PINPolicyError
		switch {
		case ok && err != nil:
			t.Errorf("%q: %v", pin, err)
		case !ok && (!errors.As(err, &pe) || pe.Reason != PINWrongForm):
			t.Errorf("%q: %v, want PINWrongForm", pin, err)
		}
	}
}

func TestPCSCErrorMapping(t *testing.T) {
	for code, want := range map[uint32]error{
		0x80100069: ErrCardRemoved, // SCARD_W_REMOVED_CARD
		0x8010000C: ErrCardRemoved, // SCARD_E_NO_SMARTCARD
		0x80100068: ErrCardRemoved, // SCARD_W_RESET_CARD
		0x8010002E: ErrNoReader,    // SCARD_E_NO_READERS_AVAILABLE
		0x80100009: ErrNoReader,    // SCARD_E_UNKNOWN_READER
		0x8010001D: ErrNoService,   // SCARD_E_NO_SERVICE
		0x80100013: ErrNoService,   // SCARD_F_COMM_ERROR
		0x8010000B: ErrCardBusy,    // SCARD_E_SHARING_VIOLATION
	} {
		err := FromPCSC(code)
		if !errors.Is(err, want) {
			t.Errorf("0x%08X: %v is not %v", code, err, want)
		}
		var pe *PCSCError
		if !errors.As(err, &pe) || pe.Code != code {
			t.Errorf("0x%08X: code lost: %v", code, err)
		}
	}
	if err := FromPCSC(0x8010000C); !errors.Is(err, ErrNoCard) || errors.Is(FromPCSC(0x80100069), ErrNoCard) {
		t.Error("SCARD_E_NO_SMARTCARD must match ErrNoCard, SCARD_W_REMOVED_CARD must not")
	}
	if FromPCSC(0) != nil {
		t.Error("SCARD_S_SUCCESS is an error")
	}
	unknown := FromPCSC(0x80100014)
	for _, s := range []error{ErrCardRemoved, ErrNoReader, ErrNoService, ErrCardBusy} {
		if errors.Is(unknown, s) {
			t.Errorf("SCARD_F_UNKNOWN_ERROR is %v", s)
		}
	}
	if !ServiceDead(FromPCSC(0x80100013)) || !ServiceDead(FromPCSC(0x8010001D)) || ServiceDead(FromPCSC(0x80100069)) {
		t.Error("ServiceDead wrong")
	}
}

func TestWrongPINBlocked(t *testing.T) {
	if !errors.Is(&WrongPINError{Retries: 0}, ErrPINBlocked) || errors.Is(&WrongPINError{Retries: 1}, ErrPINBlocked) {
		t.Error("WrongPINError.Is")
	}
	if !errors.Is(&WrongPUKError{Retries: 0}, ErrPUKBlocked) || errors.Is(&WrongPUKError{Retries: 2}, ErrPUKBlocked) {
		t.Error("WrongPUKError.Is")
	}
}
