package l10n

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// decode reads a catalogue: one JSON object (RFC 8259) of message IDs to
// strings, the catalogues' only shape. It returns what json.Unmarshal into
// a map[string]string returns for such an object (a later duplicate ID
// wins), and refuses any other shape. Every role of every process reads a
// catalogue as it starts: through encoding/json's reflection that took
// ~0.4 ms and ~1,400 allocations per language (issue 17); here IDs and
// messages without escapes are substrings of data, so the map is nearly
// all that is allocated. A string with a \u escape or invalid UTF-8 (none
// in the catalogues today) is decoded by encoding/json itself.
// TestDecodeAgreesWithEncodingJSON and FuzzDecode hold the two together.
func decode(data string) (map[string]string, error) {
	d := decoder{s: data}
	d.space()
	if !d.eat('{') {
		return nil, d.errorf("want an object")
	}
	m := make(map[string]string, strings.Count(data, "\n"))
	d.space()
	if d.eat('}') {
		return m, d.end()
	}
	for {
		d.space()
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.space()
		if !d.eat(':') {
			return nil, d.errorf("want ':' after %q", k)
		}
		d.space()
		v, err := d.str()
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.space()
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			return m, d.end()
		}
		return nil, d.errorf("want ',' or '}' after %q", k)
	}
}

type decoder struct {
	s   string
	pos int
}

var errSyntax = errors.New("catalogue syntax")

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, d.pos, fmt.Sprintf(format, args...))
}

// space skips JSON whitespace.
func (d *decoder) space() {
	for d.pos < len(d.s) {
		switch d.s[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.pos < len(d.s) && d.s[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// end checks that only whitespace follows the object.
func (d *decoder) end() error {
	d.space()
	if d.pos != len(d.s) {
		return d.errorf("data after the object")
	}
	return nil
}

// str reads one JSON string.
func (d *decoder) str() (string, error) {
	start := d.pos
	if !d.eat('"') {
		return "", d.errorf("want a string")
	}
	// Fast path: no escape, so the string is a substring of the data.
	for i := d.pos; i < len(d.s); i++ {
		switch c := d.s[i]; {
		case c == '"':
			v := d.s[d.pos:i]
			if !utf8.ValidString(v) {
				return d.viaJSON(start)
			}
			d.pos = i + 1
			return v, nil
		case c == '\\':
			return d.escaped(start, i)
		case c < 0x20:
			d.pos = i
			return "", d.errorf("control character in a string")
		}
	}
	d.pos = len(d.s)
	return "", d.errorf("unterminated string")
}

// escaped reads the rest of the string that starts at start and has its
// first backslash at i.
func (d *decoder) escaped(start, i int) (string, error) {
	var b strings.Builder
	b.Grow(i - d.pos + 16)
	b.WriteString(d.s[d.pos:i])
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			v := b.String()
			if !utf8.ValidString(v) {
				return d.viaJSON(start)
			}
			d.pos = i + 1
			return v, nil
		case c == '\\':
			if i+1 >= len(d.s) {
				d.pos = i
				return "", d.errorf("unterminated string")
			}
			switch e := d.s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				return d.viaJSON(start)
			default:
				d.pos = i
				return "", d.errorf("invalid escape \\%c", e)
			}
			i += 2
		case c < 0x20:
			d.pos = i
			return "", d.errorf("control character in a string")
		default:
			b.WriteByte(c)
			i++
		}
	}
	d.pos = len(d.s)
	return "", d.errorf("unterminated string")
}

// viaJSON decodes the string token at start with encoding/json: \u
// escapes (surrogate pairs, lone surrogates) and invalid UTF-8 come out
// exactly as json.Unmarshal has them.
func (d *decoder) viaJSON(start int) (string, error) {
	i := start + 1
	for i < len(d.s) && d.s[i] != '"' {
		if d.s[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(d.s) {
		d.pos = len(d.s)
		return "", d.errorf("unterminated string")
	}
	var v string
	if err := json.Unmarshal([]byte(d.s[start:i+1]), &v); err != nil {
		d.pos = start
		return "", d.errorf("%v", err)
	}
	d.pos = i + 1
	return v, nil
}
