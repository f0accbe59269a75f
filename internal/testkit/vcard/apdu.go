package vcard

// Status words (ISO/IEC 7816-4 §5.6, NIST SP 800-73-4 Part 2 Appendix A).
const (
	swOK                 = 0x9000
	swBytesRemaining     = 0x6100 // | remaining (00 = 256 or more)
	swVerifyFail         = 0x63C0 // | tries left
	swMemoryFailure      = 0x6581
	swWrongLength        = 0x6700
	swLastCmdExpected    = 0x6883
	swSecurityStatus     = 0x6982
	swBlocked            = 0x6983
	swConditionsNotMet   = 0x6985
	swIncorrectData      = 0x6A80
	swFileNotFound       = 0x6A82
	swNotEnoughMemory    = 0x6A84
	swIncorrectP1P2      = 0x6A86
	swRefNotFound        = 0x6A88
	swINSNotSupported    = 0x6D00
	swCLANotSupported    = 0x6E00
	swNoPreciseDiagnosis = 0x6F00
)

// command is one parsed C-APDU (ISO/IEC 7816-3 §12.1 cases 1–4, short and
// extended).
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	ne               int // expected response length; 256 (short) when Le is absent
	extended         bool
}

func (c command) chained() bool { return c.cla&0x10 != 0 }

// parseAPDU decodes b; ok is false for a malformed length (6700).
func parseAPDU(b []byte) (c command, ok bool) {
	if len(b) < 4 {
		return c, false
	}
	c.cla, c.ins, c.p1, c.p2 = b[0], b[1], b[2], b[3]
	body := b[4:]
	// PIV clients (piv-go) omit Le; a card then answers with up to 256
	// bytes and 61xx, like a YubiKey.
	c.ne = 256
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2S
		c.ne = int(body[0])
		if c.ne == 0 {
			c.ne = 256
		}
	case body[0] != 0: // case 3S or 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.ne = int(body[1+lc])
			if c.ne == 0 {
				c.ne = 256
			}
		default:
			return c, false
		}
		c.data = body[1 : 1+lc]
	default: // extended: 00 then two bytes
		c.extended = true
		if len(body) < 3 {
			return c, false
		}
		n := int(body[1])<<8 | int(body[2])
		if len(body) == 3 { // case 2E
			c.ne = n
			if c.ne == 0 {
				c.ne = 65536
			}
			return c, true
		}
		if n == 0 {
			return c, false
		}
		switch len(body) {
		case 3 + n:
			c.ne = 65536
		case 5 + n:
			c.ne = int(body[3+n])<<8 | int(body[4+n])
			if c.ne == 0 {
				c.ne = 65536
			}
		default:
			return c, false
		}
		c.data = body[3 : 3+n]
	}
	return c, true
}

func sw(code int) []byte { return []byte{byte(code >> 8), byte(code)} }

func withSW(data []byte, code int) []byte {
	out := make([]byte, 0, len(data)+2)
	out = append(out, data...)
	return append(out, byte(code>>8), byte(code))
}
