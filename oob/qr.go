package oob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPrefix starts every animated QR payload of this protocol. BankID's
// payloads use "bankid"; the shape is the same.
const QRPrefix = "sithseid"

// maxQRTime bounds t in a payload syntactically: an order lives
// OrderLifetime, so a larger t can never be valid.
const maxQRTime = int(OrderLifetime / time.Second)

// QRCode is a parsed animated QR payload.
type QRCode struct {
	// QRStartToken identifies the order (a canonical UUID).
	QRStartToken string
	// Time is t: whole seconds since the order started.
	Time int
	// MAC is HMAC-SHA256(key = qrStartSecret, message = decimal t).
	MAC [sha256.Size]byte
}

// String returns the payload.
func (q QRCode) String() string {
	return QRPrefix + "." + q.QRStartToken + "." + strconv.Itoa(q.Time) + "." + hex.EncodeToString(q.MAC[:])
}

// QRPayload returns the payload to show t whole seconds after the order
// started: "sithseid.<qrStartToken>.<t>.<hex HMAC-SHA256(qrStartSecret, t)>".
// The key is the qrStartSecret string's bytes and the message t in decimal,
// as in BankID's animated QR code.
func QRPayload(qrStartToken, qrStartSecret string, t int) string {
	return qrPayload(QRPrefix, qrStartToken, qrStartSecret, t)
}

func qrPayload(prefix, qrStartToken, qrStartSecret string, t int) string {
	mac := qrMAC(qrStartSecret, t)
	return prefix + "." + qrStartToken + "." + strconv.Itoa(t) + "." + hex.EncodeToString(mac[:])
}

func qrMAC(secret string, t int) [sha256.Size]byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(strconv.Itoa(t)))
	var m [sha256.Size]byte
	h.Sum(m[:0])
	return m
}

// ParseQRPayload parses a payload strictly: the prefix "sithseid", a
// canonical UUID, t in decimal without leading zeros and at most the order
// lifetime in seconds, and 64 lowercase hex digits, separated by single dots.
func ParseQRPayload(s string) (QRCode, error) {
	return parseQRPayload(QRPrefix, s)
}

func parseQRPayload(prefix, s string) (QRCode, error) {
	bad := func(field, reason string) (QRCode, error) {
		return QRCode{}, &DecodeError{What: "QR payload", Field: field, Reason: reason}
	}
	if len(s) > len(prefix)+1+36+1+3+1+64 {
		return bad("", "too long")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return bad("", "not four dot-separated parts")
	}
	if parts[0] != prefix {
		return bad("prefix", "not "+prefix)
	}
	if !IsCanonicalUUID(parts[1]) {
		return bad("qrStartToken", "not a canonical UUID")
	}
	ts := parts[2]
	if !isDigits(ts) || len(ts) > 1 && ts[0] == '0' || len(ts) > 3 {
		return bad("t", "not a decimal without leading zeros")
	}
	t, _ := strconv.Atoi(ts)
	if t > maxQRTime {
		return bad("t", "beyond the order lifetime")
	}
	var q QRCode
	if len(parts[3]) != 2*sha256.Size || strings.ToLower(parts[3]) != parts[3] {
		return bad("mac", "not 64 lowercase hex digits")
	}
	if _, err := hex.Decode(q.MAC[:], []byte(parts[3])); err != nil {
		return bad("mac", "not 64 lowercase hex digits")
	}
	q.QRStartToken = parts[1]
	q.Time = t
	return q, nil
}

// VerifyQRPayload is the service's check of a payload scanned from a screen:
// it parses it, checks the HMAC with the order's qrStartSecret (in constant
// time), and checks its age. elapsed is the time since the order started on
// the service's clock. The code is accepted only if t ≤ 30 s (QRWindow),
// t is not ahead of elapsed (by more than one second of rounding), and t is
// at most QRMaxAge behind elapsed: a code photographed or relayed from
// another screen is soon refused. The caller also checks that the payload's
// qrStartToken is the order's.
func VerifyQRPayload(payload, qrStartSecret string, elapsed time.Duration) error {
	q, err := ParseQRPayload(payload)
	if err != nil {
		return err
	}
	return q.Verify(qrStartSecret, elapsed)
}

// Verify is VerifyQRPayload for a parsed payload.
func (q QRCode) Verify(qrStartSecret string, elapsed time.Duration) error {
	want := qrMAC(qrStartSecret, q.Time)
	if !hmac.Equal(want[:], q.MAC[:]) {
		return ErrQRHMAC
	}
	t := time.Duration(q.Time) * time.Second
	if t > QRWindow {
		return ErrExpired
	}
	if elapsed < 0 || t > elapsed+time.Second {
		return ErrQRStale
	}
	if elapsed-t > QRMaxAge {
		if elapsed > QRWindow+QRMaxAge {
			return errors.Join(ErrQRStale, ErrExpired)
		}
		return ErrQRStale
	}
	return nil
}

// QRRecovery is the error correction level of QRPNG: Medium (about 15 % of
// codewords recoverable). A screen does not smudge or tear like paper, and
// with Medium the 113-byte payload fits QR version 7 (45×45 modules); High
// (25 %) needs version 9 and Highest (30 %) version 10, i.e. smaller modules
// for the phone's camera at the same image size (measured with go-qrcode).
const QRRecovery = qrcode.Medium

// QRPNG renders payload as a PNG of size×size pixels (at least 64) with a
// quiet zone, for the "use the mobile app instead" window.
func QRPNG(payload string, size int) ([]byte, error) {
	if size < 64 {
		return nil, errors.New("QR image size below 64 pixels")
	}
	if len(payload) > 512 {
		return nil, errors.New("QR payload too long")
	}
	return qrcode.Encode(payload, QRRecovery, size)
}
