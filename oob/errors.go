package oob

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel errors. Functions wrap them with context; callers test them with
// errors.Is.
var (
	// ErrMalformed: a message, URL or QR payload does not follow
	// docs/protocol.md. Every *DecodeError matches it.
	ErrMalformed = errors.New("malformed protocol message")
	// ErrMalformedReply: the service answered with something that is not a
	// valid reply (garbage, wrong content type, oversize, unknown fields).
	// It wraps the *DecodeError when there is one.
	ErrMalformedReply = errors.New("malformed reply from the identity service")
	// ErrTooLarge: a body exceeds MaxBodySize. It also matches ErrMalformed.
	ErrTooLarge = errors.New("message too large")
	// ErrExpired: the order or transaction has ended or expired (HTTP 410, or
	// a QR code outside its window).
	ErrExpired = errors.New("order expired or ended")
	// ErrAlreadyCompleted: another completion of the transaction won
	// (HTTP 409 alreadyCompleted). First completion wins.
	ErrAlreadyCompleted = errors.New("order already completed")
	// ErrRateLimited: the service answered 429 and the retry budget was spent
	// (or the call may not be retried).
	ErrRateLimited = errors.New("rate limited by the identity service")
	// ErrRedirect: the service answered with a redirect. The protocol has
	// none; following one could leak a token to another host.
	ErrRedirect = errors.New("identity service answered with a redirect")
	// ErrQRHMAC: a QR payload's HMAC does not match the order's secret.
	ErrQRHMAC = errors.New("QR code HMAC mismatch")
	// ErrQRStale: a QR payload is older than QRMaxAge (a relayed code) or
	// claims a time in the future.
	ErrQRStale = errors.New("QR code stale or from the future")
	// ErrBadSignature: a challenge signature does not verify.
	ErrBadSignature = errors.New("challenge signature does not verify")
	// ErrEndUserIPMismatch: the service refused a lookup because it came
	// from another address than the one the login was started from, and
	// the relying party asked for a match (403 endUserIpMismatch).
	ErrEndUserIPMismatch = errors.New("login started from another address")
	// ErrUnsupportedKey: the key type or signature algorithm is not one of
	// docs/protocol.md's.
	ErrUnsupportedKey = errors.New("unsupported key or signature algorithm")
)

// DecodeError says what is wrong with a message, URL or QR payload. It
// matches ErrMalformed (and ErrTooLarge when that is the cause).
type DecodeError struct {
	// What is being decoded: a message type name ("LookupResponse"),
	// "autostart URL" or "QR payload".
	What string
	// Field is the JSON path or URL parameter at fault ("" for the whole).
	Field string
	// Reason says what is wrong, without echoing secrets.
	Reason string
	// Err is an underlying error, if any.
	Err error
}

func (e *DecodeError) Error() string {
	s := "malformed " + e.What
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes every DecodeError match ErrMalformed.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// ServiceError is an error reply of the identity service: an HTTP status
// with {"errorCode", "details"} (docs/protocol.md, "Errors").
type ServiceError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the errorCode, e.g. ErrorCodeNotFound; "" if the body had none.
	Code string
	// Details is the service's free text; for logs, never shown to users.
	Details string
	// RetryAfter is the Retry-After delay of a 429/503, 0 when absent.
	RetryAfter time.Duration
}

func (e *ServiceError) Error() string {
	s := "identity service: HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Details != "" {
		s += fmt.Sprintf(" (%q)", e.Details)
	}
	return s
}

// Is maps service replies to the sentinels: 410 or errorCode expired to
// ErrExpired, 409 alreadyCompleted to ErrAlreadyCompleted, 429 to
// ErrRateLimited, endUserIpMismatch to ErrEndUserIPMismatch.
func (e *ServiceError) Is(target error) bool {
	switch target {
	case ErrExpired:
		return e.Status == 410 || e.Code == ErrorCodeExpired
	case ErrAlreadyCompleted:
		return e.Code == ErrorCodeAlreadyCompleted
	case ErrRateLimited:
		return e.Status == 429 || e.Code == ErrorCodeTooManyRequests
	case ErrEndUserIPMismatch:
		return e.Code == ErrorCodeEndUserIPMismatch
	}
	return false
}
