package cardreader

import (
	"errors"
	"fmt"
	"log/slog"
)

// Secret holds a PIN, PUK or key for the length of one operation. It never
// prints its contents (fmt, %v, %#v, JSON and slog all see "[redacted]") and
// Wipe zeroes it. The zero value and nil are empty secrets.
type Secret struct {
	b []byte
}

// NewSecret takes ownership of b: the caller must not use b afterwards.
func NewSecret(b []byte) *Secret { return &Secret{b: b} }

// Bytes returns the secret's bytes, not a copy: do not keep or log them.
func (s *Secret) Bytes() []byte {
	if s == nil {
		return nil
	}
	return s.b
}

// Len is the number of bytes in the secret.
func (s *Secret) Len() int { return len(s.Bytes()) }

// Empty reports whether the secret holds nothing.
func (s *Secret) Empty() bool { return s.Len() == 0 }

// Wipe zeroes the secret's bytes, to the capacity of the slice it was
// given (a decoder may have written past the length), and empties it.
// Safe on nil.
func (s *Secret) Wipe() {
	if s == nil {
		return
	}
	clear(s.b[:cap(s.b)])
	s.b = nil
}

// Equal compares two secrets without leaking their contents through timing
// of a short-circuiting compare.
func (s *Secret) Equal(o *Secret) bool {
	a, b := s.Bytes(), o.Bytes()
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

const redacted = "[redacted]"

func (s *Secret) String() string   { return redacted }
func (s *Secret) GoString() string { return redacted }

// Format keeps every verb, %x and %q included, from printing the bytes.
func (s *Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps log/slog from printing the bytes.
func (s *Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON refuses, so a secret never lands in a JSON document.
func (s *Secret) MarshalJSON() ([]byte, error) {
	return nil, errors.New("cardreader: a Secret is never serialised")
}

// MarshalText refuses, for the same reason.
func (s *Secret) MarshalText() ([]byte, error) {
	return nil, errors.New("cardreader: a Secret is never serialised")
}
