package piv

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
)

// The commands that carry a secret: VERIFY, CHANGE REFERENCE DATA and
// RESET RETRY COUNTER (SP 800-73-4 Part 2 sections 3.2.1–3.2.3), and the
// read of the PIN-protected management key, whose answer is one.
//
// A PIN or PUK goes from the cardreader.Secret's bytes straight into the
// one buffer that is the command APDU, which is zeroed once sent; no Go
// string, no intermediate slice. What pcsc-lite copies into its socket
// message, and pcscd and the card, are out of reach.

// pinBlockLen is the length of a PIN or PUK reference data block: the
// digits padded with FF (SP 800-73-4 Part 2 section 2.4.3).
const pinBlockLen = 8

// sendSecret sends a case 3 command (no Le) whose data are the given PINs
// or PUKs, each as an 8-byte block, in one buffer that is zeroed once
// sent. The answer of these commands is a status word only.
func (s *session) sendSecret(ins, ref byte, secrets ...*cardreader.Secret) error {
	apdu := make([]byte, 5+pinBlockLen*len(secrets))
	defer clear(apdu)
	apdu[1], apdu[3], apdu[4] = ins, ref, byte(pinBlockLen*len(secrets))
	for i, sec := range secrets {
		b := sec.Bytes()
		if len(b) == 0 || len(b) > pinBlockLen {
			return fmt.Errorf("a PIN or PUK of %d bytes does not fit its block", len(b))
		}
		block := apdu[5+pinBlockLen*i : 5+pinBlockLen*(i+1)]
		n := copy(block, b)
		for j := n; j < len(block); j++ {
			block[j] = 0xFF
		}
	}
	_, code, err := s.transmit(apdu)
	if err != nil {
		return err
	}
	if code != swOK {
		return &swError{code}
	}
	return nil
}

// verifyPIN presents the PIN (VERIFY, SP 800-73-4 Part 2 section 3.2.1).
func (s *session) verifyPIN(pin *cardreader.Secret) error {
	return refErr(s.sendSecret(insVerify, refPIN, pin), pinSecret)
}

// changePIN replaces the PIN (CHANGE REFERENCE DATA, section 3.2.2).
func (s *session) changePIN(oldPIN, newPIN *cardreader.Secret) error {
	return refErr(s.sendSecret(insChangeReference, refPIN, oldPIN, newPIN), pinSecret)
}

// unblockPIN sets a new PIN with the PUK (RESET RETRY COUNTER, section
// 3.2.3).
func (s *session) unblockPIN(puk, newPIN *cardreader.Secret) error {
	return refErr(s.sendSecret(insResetRetry, refPIN, puk, newPIN), pukSecret)
}

// protectedManagementKey reads the management key a YubiKey-style card
// keeps in the PRINTED object (5FC109) as 88 { 89 key }, readable only
// with the PIN verified in the same session (Yubico's "PIN-protected
// management key"). It returns nil, nil when the card holds none. The
// answer is wiped once the key is copied out; the caller clears the copy.
func (s *session) protectedManagementKey() ([]byte, error) {
	obj, err := s.getData(objPrinted)
	defer clear(obj)
	switch sw(err) {
	case swSecurityStatus, swRefNotFound:
		return nil, nil
	}
	if err != nil || len(obj) == 0 {
		return nil, err
	}
	outer, _, ok := readTLV(obj)
	if !ok || outer.tag != 0x88 {
		return nil, errors.New("PIN-protected data: malformed")
	}
	for rest := outer.value; len(rest) > 0; {
		var v tlv
		if v, rest, ok = readTLV(rest); !ok {
			return nil, errors.New("PIN-protected data: malformed")
		}
		if v.tag == 0x89 {
			switch len(v.value) {
			case 16, 24, 32:
				return bytes.Clone(v.value), nil
			}
			return nil, fmt.Errorf("PIN-protected management key of %d bytes: %w", len(v.value), cardreader.ErrManagementKey)
		}
	}
	return nil, nil
}

// secretKind says which secret a command presented, to turn 63Cx into the
// right typed error.
type secretKind int

const (
	pinSecret secretKind = iota
	pukSecret
)

// refErr turns the status words of a refused PIN or PUK into typed
// errors: 63Cx (x tries left) and 6983 (blocked; SP 800-73-4 Part 2
// Table 6) become *cardreader.WrongPINError / *cardreader.WrongPUKError
// with the tries left, zero tries matching ErrPINBlocked / ErrPUKBlocked.
// 6300 (failed, no count) counts as zero, as piv-go's AuthErr had it.
func refErr(err error, kind secretKind) error {
	code := sw(err)
	n := -1
	switch {
	case code&0xFFF0 == 0x63C0:
		n = int(code & 0x0F)
	case code == swAuthBlocked, code == 0x6300:
		n = 0
	}
	if n < 0 {
		return err
	}
	if kind == pukSecret {
		return &cardreader.WrongPUKError{Retries: n}
	}
	return &cardreader.WrongPINError{Retries: n}
}
