package vcard

import "errors"

// BER-TLV as used by PIV (NIST SP 800-73-4 Part 1 §3.1 and Part 2 §3): tags of
// one to three bytes, definite lengths of one to three bytes.

var errTLV = errors.New("vcard: malformed TLV")

// tlv encodes tag (1–3 bytes, big-endian in an int) and value.
func tlv(tag int, value []byte) []byte {
	var out []byte
	switch {
	case tag > 0xFFFF:
		out = append(out, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		out = append(out, byte(tag>>8), byte(tag))
	default:
		out = append(out, byte(tag))
	}
	out = append(out, berLen(len(value))...)
	return append(out, value...)
}

func berLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	case n <= 0xFFFF:
		return []byte{0x82, byte(n >> 8), byte(n)}
	default:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// readTLV splits the first TLV off b.
func readTLV(b []byte) (tag int, value, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errTLV
	}
	i := 0
	tag = int(b[i])
	i++
	if b[0]&0x1F == 0x1F { // multi-byte tag: more bytes while bit 8 is set
		for {
			if i >= len(b) || i > 3 {
				return 0, nil, nil, errTLV
			}
			tag = tag<<8 | int(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return 0, nil, nil, errTLV
	}
	n := int(b[i])
	i++
	if n&0x80 != 0 {
		k := n & 0x7F
		if k == 0 || k > 3 || i+k > len(b) {
			return 0, nil, nil, errTLV
		}
		n = 0
		for j := 0; j < k; j++ {
			n = n<<8 | int(b[i+j])
		}
		i += k
	}
	if n > len(b)-i {
		return 0, nil, nil, errTLV
	}
	return tag, b[i : i+n], b[i+n:], nil
}

// parseTLVs reads a sequence of TLVs into a map (the first of each tag wins)
// and reports an error for trailing garbage.
func parseTLVs(b []byte) (map[int][]byte, error) {
	m := map[int][]byte{}
	for len(b) > 0 {
		tag, v, rest, err := readTLV(b)
		if err != nil {
			return nil, err
		}
		if _, dup := m[tag]; !dup {
			m[tag] = v
		}
		b = rest
	}
	return m, nil
}

// tlvOrder is like parseTLVs but keeps order and presence (for the dynamic
// authentication template, where an empty tag means "ask the card").
type tlvItem struct {
	tag   int
	value []byte
}

func parseTLVList(b []byte) ([]tlvItem, error) {
	var out []tlvItem
	for len(b) > 0 {
		tag, v, rest, err := readTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, tlvItem{tag, v})
		b = rest
	}
	return out, nil
}
