package oob

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Decode reads one message of at most MaxBodySize bytes from r into m and
// validates it. It is strict where encoding/json is lenient, because a
// lenient parser lets a proxy and the service disagree about a message:
//   - the body must be valid UTF-8 (encoding/json silently replaces bad bytes);
//   - object keys must match the field names exactly (encoding/json folds
//     case) and appear once (encoding/json keeps the last duplicate);
//   - unknown fields are refused, fields without omitempty are required,
//     null only where the field is a pointer;
//   - nothing may follow the value but white space;
//   - then m.Validate checks formats and bounds.
//
// Every error matches ErrMalformed; an oversize body also ErrTooLarge.
func Decode(r io.Reader, m Message) error {
	what := messageName(m)
	data, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err != nil {
		return &DecodeError{What: what, Reason: "reading body", Err: err}
	}
	return decodeBytes(what, data, m)
}

// DecodeBytes is Decode for a body already in memory.
func DecodeBytes(data []byte, m Message) error {
	return decodeBytes(messageName(m), data, m)
}

func decodeBytes(what string, data []byte, m Message) error {
	if len(data) > MaxBodySize {
		return &DecodeError{What: what, Err: ErrTooLarge}
	}
	if !utf8.Valid(data) {
		return &DecodeError{What: what, Reason: "not valid UTF-8"}
	}
	t := reflect.TypeOf(m)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return &DecodeError{What: what, Reason: "decoding into a non-struct"}
	}
	sd := json.NewDecoder(bytes.NewReader(data))
	sd.UseNumber()
	if err := checkShape(sd, t.Elem(), "", false); err != nil {
		return &DecodeError{What: what, Err: err}
	}
	if _, err := sd.Token(); err != io.EOF {
		return &DecodeError{What: what, Reason: "data after the JSON value"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &DecodeError{What: what, Field: ute.Field, Reason: "wrong JSON type " + ute.Value}
		}
		return &DecodeError{What: what, Err: err}
	}
	return m.Validate()
}

// Encode validates m and marshals it, so neither side sends what the other
// must refuse.
func Encode(m Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", messageName(m), err)
	}
	if len(b) > MaxBodySize {
		return nil, &DecodeError{What: messageName(m), Err: ErrTooLarge}
	}
	return b, nil
}

func messageName(m Message) string {
	t := reflect.TypeOf(m)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "message"
	}
	return t.Name()
}

// shapeError is a structural problem found by checkShape.
type shapeError struct{ path, reason string }

func (e *shapeError) Error() string {
	if e.path == "" {
		return e.reason
	}
	return e.path + ": " + e.reason
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

type fieldInfo struct {
	typ      reflect.Type
	optional bool
}

func structFields(t reflect.Type) map[string]fieldInfo {
	fs := make(map[string]fieldInfo, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		optional := false
		for _, o := range strings.Split(opts, ",") {
			if o == "omitempty" || o == "omitzero" {
				optional = true
			}
		}
		fs[name] = fieldInfo{typ: f.Type, optional: optional}
	}
	return fs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkShape walks one JSON value with the type it will be decoded into
// (nil: any value) and enforces exact keys, no duplicates, required fields
// and null only for required pointers. An optional field, when present, is
// neither null nor "": one message has one form. Types with their own
// UnmarshalJSON are leaves.
func checkShape(d *json.Decoder, t reflect.Type, path string, optional bool) error {
	tok, err := d.Token()
	if err != nil {
		return &shapeError{path, "invalid JSON"}
	}
	if tok == nil {
		if t != nil && (optional || t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface) {
			return &shapeError{path, "null not allowed"}
		}
		return nil
	}
	if s, ok := tok.(string); ok && s == "" && optional {
		return &shapeError{path, "empty optional field (leave it out)"}
	}
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	leaf := t == nil || reflect.PointerTo(t).Implements(unmarshalerType)
	delim, isDelim := tok.(json.Delim)
	if !isDelim {
		return nil // scalar: its type is checked by encoding/json
	}
	switch delim {
	case '{':
		var fields map[string]fieldInfo
		if !leaf && t.Kind() == reflect.Struct {
			fields = structFields(t)
		} else if !leaf && t.Kind() != reflect.Map {
			return &shapeError{path, "object not allowed"}
		}
		seen := make(map[string]bool)
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return &shapeError{path, "invalid JSON"}
			}
			key, _ := kt.(string)
			if seen[key] {
				return &shapeError{join(path, key), "duplicate key"}
			}
			seen[key] = true
			var ft reflect.Type
			opt := false
			if fields != nil {
				f, ok := fields[key]
				if !ok {
					return &shapeError{join(path, key), "unknown field"}
				}
				ft, opt = f.typ, f.optional
			} else if !leaf {
				ft = t.Elem()
			}
			if err := checkShape(d, ft, join(path, key), opt); err != nil {
				return err
			}
		}
		if _, err := d.Token(); err != nil {
			return &shapeError{path, "invalid JSON"}
		}
		for name, f := range fields {
			if !f.optional && !seen[name] {
				return &shapeError{join(path, name), "required field missing"}
			}
		}
	case '[':
		var et reflect.Type
		if !leaf {
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return &shapeError{path, "array not allowed"}
			}
			et = t.Elem()
		}
		for i := 0; d.More(); i++ {
			if err := checkShape(d, et, path+"["+strconv.Itoa(i)+"]", false); err != nil {
				return err
			}
		}
		if _, err := d.Token(); err != nil {
			return &shapeError{path, "invalid JSON"}
		}
	default:
		return &shapeError{path, "invalid JSON"}
	}
	return nil
}

// Base64 is bytes carried as standard base64 with padding (RFC 4648 §4).
// Decoding is strict: no line breaks, no missing or extra padding, no
// non-zero padding bits, so one value has exactly one encoding.
type Base64 []byte

// MarshalJSON implements json.Marshaler.
func (b Base64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *Base64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("base64 value is not a string")
	}
	v, err := DecodeBase64(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// DecodeBase64 decodes standard base64 with padding strictly.
func DecodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("invalid base64: line break")
	}
	v, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid base64")
	}
	return v, nil
}

// NewUUID returns a random (version 4) UUID in canonical form, the form of
// every token and reference of the protocol. Tokens are bearer secrets: 122
// random bits from crypto/rand.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// IsCanonicalUUID reports whether s is a UUID in canonical form: 36
// characters, lowercase hex, hyphens at 8, 13, 18, 23 (RFC 9562 §4).
func IsCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func checkUUID(what, field, v string) error {
	if v == "" {
		return &DecodeError{What: what, Field: field, Reason: "empty"}
	}
	if !IsCanonicalUUID(v) {
		return &DecodeError{What: what, Field: field, Reason: "not a canonical UUID"}
	}
	return nil
}

func checkIP(what, field, v string) error {
	if _, err := netip.ParseAddr(v); err != nil || strings.Contains(v, "%") {
		return &DecodeError{What: what, Field: field, Reason: "not an IP address"}
	}
	return nil
}

// checkCode accepts a hint or error code: 1–64 ASCII letters.
func checkCode(what, field, v string) error {
	if v == "" || len(v) > 64 {
		return &DecodeError{What: what, Field: field, Reason: "empty or too long"}
	}
	for i := 0; i < len(v); i++ {
		if c := v[i] | 0x20; c < 'a' || c > 'z' {
			return &DecodeError{What: what, Field: field, Reason: "not a code"}
		}
	}
	return nil
}

// CheckText checks a text shown to the user: non-empty, valid UTF-8, at
// most max characters, no control characters (Unicode category Cc; newline
// allowed when multiline), no format characters (Cf: the bidirectional
// controls that make a relying party's name display as something else,
// CVE-2021-42574 "Trojan Source", and the invisible ones, zero-width
// space and joiner, BOM, soft hyphen, tag characters, which hide text or
// make two names look alike) and no line or paragraph separators (Zl, Zp:
// a second line in a one-line name).
func CheckText(s string, max int, multiline bool) error {
	if s == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	n := 0
	for _, r := range s {
		n++
		switch {
		case r == '\n' && multiline:
		case unicode.IsControl(r):
			return errors.New("control character")
		case isBidiControl(r):
			return errors.New("bidirectional formatting character")
		case unicode.Is(unicode.Cf, r):
			return errors.New("invisible format character")
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return errors.New("line or paragraph separator")
		case r == utf8.RuneError:
			return errors.New("replacement character")
		}
	}
	if n > max {
		return fmt.Errorf("longer than %d characters", max)
	}
	return nil
}

func checkText(what, field, v string, max int, multiline bool) error {
	if err := CheckText(v, max, multiline); err != nil {
		return &DecodeError{What: what, Field: field, Err: err}
	}
	return nil
}

// isBidiControl: the Unicode bidirectional formatting characters (UAX #9
// §2): LRM, RLM, ALM, LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI.
func isBidiControl(r rune) bool {
	return r == 0x200E || r == 0x200F || r == 0x061C ||
		0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069
}

// CheckHSAID checks the form of an HSA-ID: "SE", the ten-digit
// organisation number of the issuing organisation, "-", and 1–31 letters or
// digits (e.g. SE2321000016-1234).
func CheckHSAID(s string) error {
	org, local, ok := strings.Cut(s, "-")
	if !ok || len(org) != 12 || !strings.HasPrefix(org, "SE") || !isDigits(org[2:]) {
		return errors.New("not an HSA-ID")
	}
	if len(local) == 0 || len(local) > 31 {
		return errors.New("not an HSA-ID")
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return errors.New("not an HSA-ID")
		}
	}
	return nil
}

// isOrgID: a Swedish organisation number, ten digits, optionally with a
// hyphen after the sixth.
func isOrgID(s string) bool {
	if len(s) == 11 && s[6] == '-' {
		s = s[:6] + s[7:]
	}
	return len(s) == 10 && isDigits(s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseUnixMillis parses a non-negative decimal of at most 15 digits
// without leading zeros.
func parseUnixMillis(s string) (int64, error) {
	if !isDigits(s) || len(s) > 15 || len(s) > 1 && s[0] == '0' {
		return 0, errors.New("not Unix milliseconds")
	}
	return strconv.ParseInt(s, 10, 64)
}

// CheckRedirect checks a redirect or return URL: absolute https with a host,
// or http to the loopback host (127.0.0.1, [::1], localhost) for the local
// DEMO service; no user info, no fragment, at most 2048 bytes. Anything else
// (javascript:, data:, file:, another scheme) could make the app run or
// open something the relying party did not mean.
func CheckRedirect(s string) error {
	if len(s) > 2048 {
		return errors.New("redirect URL too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return errors.New("redirect URL contains space or control character")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("redirect URL does not parse")
	}
	if u.Opaque != "" || u.User != nil || u.Fragment != "" || strings.Contains(s, "#") {
		return errors.New("redirect URL has opaque part, user info or fragment")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
		if host == "" {
			return errors.New("redirect URL has no host")
		}
	case "http":
		if !isLoopbackHost(host) {
			return errors.New("redirect URL is http to a host other than loopback")
		}
	default:
		return errors.New("redirect URL scheme is not https")
	}
	return nil
}

func isLoopbackHost(h string) bool { return h == "127.0.0.1" || h == "::1" || h == "localhost" }

// IsLoopbackRedirect reports whether a redirect that passed CheckRedirect is
// the plain-http loopback form, which only the local DEMO environment may
// use: the app refuses it in PROD, QA and TEST.
func IsLoopbackRedirect(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "http" && isLoopbackHost(u.Hostname())
}
