package cardreader

import "time"

// PIN and PUK lengths of a SITHS card.
const (
	MinPINLength = 6
	MaxPINLength = 8
	PUKLength    = 8
)

// CheckPINPolicy checks a new PIN chosen by the holder. It refuses, with a
// *PINPolicyError, a PIN that is not 6–8 digits, one repeated digit
// (111111), an ascending or descending run, also wrapping past 9 or 0
// (123456, 890123, 987654, 210987), and the holder's birth date in a common
// format (YYMMDD, DDMMYY, MMDDYY, YYYYMMDD, DDMMYYYY, MMDDYYYY, YYYYDDMM),
// also inside a 7- or 8-digit PIN. A zero birthDate skips that check (no
// personal number on the card).
//
// It reads pin's bytes in place and makes no copy of them.
func CheckPINPolicy(pin *Secret, birthDate time.Time) error {
	b := pin.Bytes()
	if !allDigits(b) {
		return &PINPolicyError{Reason: PINNotDigits}
	}
	switch {
	case len(b) < MinPINLength:
		return &PINPolicyError{Reason: PINTooShort}
	case len(b) > MaxPINLength:
		return &PINPolicyError{Reason: PINTooLong}
	}
	if run(b, 0) {
		return &PINPolicyError{Reason: PINRepeatedDigit}
	}
	if run(b, 1) {
		return &PINPolicyError{Reason: PINAscending}
	}
	if run(b, 9) { // -1 mod 10
		return &PINPolicyError{Reason: PINDescending}
	}
	if !birthDate.IsZero() && containsDate(b, birthDate) {
		return &PINPolicyError{Reason: PINBirthDate}
	}
	return nil
}

// CheckPUKFormat checks that puk has the form of a SITHS PUK: 8 digits.
// Anything else (letters too) is PUKWrongLength, so the message is about
// the PUK and not about a new PIN.
func CheckPUKFormat(puk *Secret) error {
	b := puk.Bytes()
	if !allDigits(b) || len(b) != PUKLength {
		return &PINPolicyError{Reason: PUKWrongLength}
	}
	return nil
}

// CheckPINFormat checks that pin, a PIN the holder says is the card's
// current one, has the form of a SITHS PIN: 6–8 digits. Anything else is a
// *PINPolicyError with Reason PINWrongForm, returned before the card is
// asked, so no try is spent on a typing slip.
func CheckPINFormat(pin *Secret) error {
	b := pin.Bytes()
	if !allDigits(b) || len(b) < MinPINLength || len(b) > MaxPINLength {
		return &PINPolicyError{Reason: PINWrongForm}
	}
	return nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// run reports whether every digit is the one before plus step, modulo 10.
func run(b []byte, step byte) bool {
	for i := 1; i < len(b); i++ {
		if (b[i-1]-'0'+step)%10 != b[i]-'0' {
			return false
		}
	}
	return true
}

// containsDate reports whether b holds d written in one of the usual
// numeric date formats.
func containsDate(b []byte, d time.Time) bool {
	var buf [8]byte
	y, m, day := d.Year(), int(d.Month()), d.Day()
	put := func(dst []byte, v, n int) {
		for i := n - 1; i >= 0; i-- {
			dst[i] = byte('0' + v%10)
			v /= 10
		}
	}
	type part struct{ v, n int }
	formats := [][]part{
		{{y % 100, 2}, {m, 2}, {day, 2}}, // YYMMDD
		{{day, 2}, {m, 2}, {y % 100, 2}}, // DDMMYY
		{{m, 2}, {day, 2}, {y % 100, 2}}, // MMDDYY
		{{y, 4}, {m, 2}, {day, 2}},       // YYYYMMDD
		{{day, 2}, {m, 2}, {y, 4}},       // DDMMYYYY
		{{m, 2}, {day, 2}, {y, 4}},       // MMDDYYYY
		{{y, 4}, {day, 2}, {m, 2}},       // YYYYDDMM
	}
	for _, f := range formats {
		n := 0
		for _, p := range f {
			put(buf[n:n+p.n], p.v, p.n)
			n += p.n
		}
		if containsBytes(b, buf[:n]) {
			clear(buf[:])
			return true
		}
	}
	clear(buf[:])
	return false
}

func containsBytes(b, sub []byte) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		match := true
		for j := range sub {
			if b[i+j] != sub[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
