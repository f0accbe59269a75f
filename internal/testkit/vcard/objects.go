package vcard

import (
	"fmt"
	"strconv"
)

// Data object tags (NIST SP 800-73-4 Part 1 Table 3, and Yubico's
// extensions).
const (
	tagCHUID       = 0x5FC102
	tagCCC         = 0x5FC107
	tagPrinted     = 0x5FC109
	tagKeyHistory  = 0x5FC10C
	tagDiscovery   = 0x7E
	tagBITGroup    = 0x7F61
	tagAdminData   = 0x5FFF00 // Yubico ADMIN DATA
	tagFingerprint = 0x5FC103
	tagFacial      = 0x5FC108
	tagIris        = 0x5FC121
)

// slotObject maps a key reference to its certificate object (Part 1
// Table 3, Part 1 §3.3.2 for the retired key management slots 82–95).
func slotObject(slot byte) (int, bool) {
	switch {
	case slot == 0x9A:
		return 0x5FC105, true
	case slot == 0x9C:
		return 0x5FC10A, true
	case slot == 0x9D:
		return 0x5FC10B, true
	case slot == 0x9E:
		return 0x5FC101, true
	case slot >= 0x82 && slot <= 0x95:
		return 0x5FC10D + int(slot-0x82), true
	case slot == 0xF9: // Yubico attestation
		return 0x5FFF01, true
	}
	return 0, false
}

func isKeySlot(slot byte) bool {
	_, ok := slotObject(slot)
	return ok
}

func objKey(tag int) string { return strconv.FormatInt(int64(tag), 16) }

// validObject reports whether tag names a data object this card stores:
// the PIV objects 5FC101–5FC123, discovery 7E, the BIT group 7F61 and
// Yubico's 5FFF00–5FFF15.
func validObject(tag int) bool {
	return (tag >= 0x5FC101 && tag <= 0x5FC123) || tag == tagDiscovery || tag == tagBITGroup ||
		(tag >= 0x5FFF00 && tag <= 0x5FFF15)
}

// pinProtected: objects readable only after PIN verification (Part 1
// Table 3 access rules "PIN"; Yubico PRINTED, which holds the PIN-protected
// management key).
func pinProtected(tag int) bool {
	switch tag {
	case tagPrinted, tagFingerprint, tagFacial, tagIris:
		return true
	}
	return false
}

// objectTag reads the tag list 5C (SP 800-73-4 Part 2 §3.1.2).
func objectTag(data []byte) (int, []byte, bool) {
	tag, v, rest, err := readTLV(data)
	if err != nil || tag != 0x5C || len(v) < 1 || len(v) > 3 {
		return 0, nil, false
	}
	t := 0
	for _, b := range v {
		t = t<<8 | int(b)
	}
	return t, rest, true
}

// getData is GET DATA (SP 800-73-4 Part 2 §3.1.2).
func (c *Card) getData(cmd command) ([]byte, int) {
	if cmd.p1 != 0x3F || cmd.p2 != 0xFF {
		return nil, swIncorrectP1P2
	}
	tag, rest, ok := objectTag(cmd.data)
	if !ok || len(rest) != 0 {
		return nil, swIncorrectData
	}
	if !validObject(tag) {
		return nil, swFileNotFound
	}
	if pinProtected(tag) && !c.pinVerified {
		return nil, swSecurityStatus
	}
	v, ok := c.st.Objects[objKey(tag)]
	if !ok {
		return nil, swFileNotFound
	}
	if tag == tagDiscovery || tag == tagBITGroup {
		return append([]byte(nil), v...), swOK // stored as the whole template
	}
	return tlv(0x53, v), swOK
}

// putData is PUT DATA (SP 800-73-4 Part 2 §3.3.2); it needs the management
// key. An empty 53 deletes the object.
func (c *Card) putData(cmd command) int {
	if cmd.p1 != 0x3F || cmd.p2 != 0xFF {
		return swIncorrectP1P2
	}
	if !c.mgmtAuthed {
		return swSecurityStatus
	}
	var tag int
	var value []byte
	first, v, rest, err := readTLV(cmd.data)
	if err != nil {
		return swIncorrectData
	}
	switch first {
	case tagDiscovery, tagBITGroup:
		if len(rest) != 0 {
			return swIncorrectData
		}
		tag, value = first, cmd.data
		if len(v) == 0 {
			value = nil
		}
	case 0x5C:
		var ok bool
		if tag, rest, ok = objectTag(cmd.data); !ok {
			return swIncorrectData
		}
		t53, v53, rest2, err := readTLV(rest)
		if err != nil || t53 != 0x53 || len(rest2) != 0 {
			return swIncorrectData
		}
		value = v53
	default:
		return swIncorrectData
	}
	if !validObject(tag) {
		return swIncorrectData
	}
	k := objKey(tag)
	old, had := c.st.Objects[k]
	if len(value) == 0 {
		delete(c.st.Objects, k)
	} else {
		c.st.Objects[k] = append([]byte(nil), value...)
	}
	if err := c.save(); err != nil {
		if had {
			c.st.Objects[k] = old
		} else {
			delete(c.st.Objects, k)
		}
		return swMemoryFailure
	}
	return swOK
}

// certObject is the value of a certificate object (Part 1 Table 15):
// 70 certificate, 71 CertInfo (00: not compressed), FE error detection code.
func certObject(der []byte) []byte {
	v := tlv(0x70, der)
	v = append(v, tlv(0x71, []byte{0x00})...)
	return append(v, tlv(0xFE, nil)...)
}

// chuid is the Card Holder Unique Identifier (Part 1 Table 9): FASC-N, GUID,
// expiration date, an empty issuer signature and the error detection code.
func chuid(guid []byte, expiry string) []byte {
	// FASC-N of a non-federal issuer: agency code 9999 (BCD with parity,
	// SP 800-73-4 Part 1 §3.1.2 and TIG SCEPACS); its content is not used by
	// anything but identifies the card as not a US federal credential.
	fascn := []byte{0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
		0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB}
	v := tlv(0x30, fascn)
	v = append(v, tlv(0x34, guid)...)
	v = append(v, tlv(0x35, []byte(expiry))...)
	v = append(v, tlv(0x3E, nil)...)
	return append(v, tlv(0xFE, nil)...)
}

// ccc is the Card Capability Container (Part 1 Table 8).
func ccc(cardID []byte) []byte {
	id := append([]byte{0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02}, cardID...) // GSC-RID + manufacturer + 14-byte id
	v := tlv(0xF0, id[:21])
	v = append(v, tlv(0xF1, []byte{0x21})...)
	v = append(v, tlv(0xF2, []byte{0x21})...)
	v = append(v, tlv(0xF3, nil)...)
	v = append(v, tlv(0xF4, []byte{0x00})...)
	v = append(v, tlv(0xF5, []byte{0x10})...)
	v = append(v, tlv(0xF6, nil)...)
	v = append(v, tlv(0xF7, nil)...)
	v = append(v, tlv(0xFA, nil)...)
	v = append(v, tlv(0xFB, nil)...)
	v = append(v, tlv(0xFC, nil)...)
	v = append(v, tlv(0xFD, nil)...)
	return append(v, tlv(0xFE, nil)...)
}

// discovery is the Discovery Object (Part 1 Table 18): the PIV AID and the
// PIN usage policy 40 00 (PIV Card Application PIN only, no global PIN).
func discovery() []byte {
	v := tlv(0x4F, pivAID)
	v = append(v, tlv(0x5F2F, []byte{0x40, 0x00})...)
	return tlv(tagDiscovery, v)
}

// keyHistory is the Key History Object (Part 1 Table 19): n retired keys
// with their certificates on the card, none off the card. OpenSC reads it
// to learn which retired slots (82, 83, …) to look at.
func keyHistory(onCard int) []byte {
	v := tlv(0xC1, []byte{byte(onCard)})
	v = append(v, tlv(0xC2, []byte{0x00})...)
	return append(v, tlv(0xFE, nil)...)
}

// Yubico ADMIN DATA (5FFF00) and PRINTED (5FC109) hold a PIN-protected
// management key the way YubiKey Manager and piv-go's Metadata store it:
// ADMIN DATA 80 { 81 01 flags }, flag 02 = management key PIN-protected;
// PRINTED 88 { 89 key }.
const adminFlagProtectedMgmt = 0x02

func adminData(flags byte) []byte { return tlv(0x80, tlv(0x81, []byte{flags})) }

func protectedData(key []byte) []byte { return tlv(0x88, tlv(0x89, key)) }

func describeSlot(slot byte) string { return fmt.Sprintf("%02x", slot) }
