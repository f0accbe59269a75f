package idprime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// Status words (ISO/IEC 7816-4 section 5.1.3, and the IDPrime answers the
// contract names).
const (
	swOK             = 0x9000
	swEndOfFile      = 0x6282 // fewer bytes than asked: the file ended
	swSecurityStatus = 0x6982
	swAuthBlocked    = 0x6983
	swWrongData      = 0x6A80
	swNotFound       = 0x6A82
	swWrongP1P2      = 0x6A86
	swRefNotFound    = 0x6A88
)

// Instructions.
const (
	insSelect      = 0xA4
	insReadBinary  = 0xB0
	insVerify      = 0x20
	insChangeRef   = 0x24
	insResetRetry  = 0x2C
	insMSE         = 0x22
	insPSO         = 0x2A
	insGetResponse = 0xC0
	insGetData     = 0xCA
)

// References and files of the applet (FIELD-NOTES "IDPrime 940", from
// OpenSC's card-idprime.c and pkcs15-idprime.c unless marked).
const (
	// refPIN is the identification PIN ("legitimeringskod").
	refPIN = 0x11
	// refSignaturePIN is the 940's signature PIN ("underskriftskod"),
	// OpenSC 0.24+.
	refSignaturePIN = 0x83
	// refPUK is the PUK, read for free with an empty VERIFY. Not public:
	// chosen (the project's IDPrime wire contract). OpenSC has no PUK object for
	// IDPrime, and no public source names the reference a real 940 uses.
	refPUK = 0x12

	fidIndex   = 0x0101 // the file index
	fidCardID  = 0x0201 // 16-byte card ID, OpenSC's serial
	fidCMap    = 0x0204 // minidriver container map
	fidKeyRefs = 0x0005 // 940: key references and their PINs
	dirMSCP    = "mscp" // minidriver directory of the certificates

	// keyRefBase + container is a key's reference where the card has no
	// 0005 file: OpenSC 0.23's rule for a V4 applet.
	keyRefBase = 0x56

	// pinBlockLen: PINs and PUKs go to the card as ASCII digits padded
	// with 00 to 16 bytes.
	pinBlockLen = 16

	// readChunk is the most READ BINARY asks for at once (short Le = 00).
	readChunk = 256
	// maxResponse bounds a response collected with GET RESPONSE.
	maxResponse = 4096
)

// aidIDPrime is the IDPrime applet (FIELD-NOTES; OpenSC idprime_path).
var aidIDPrime = []byte{0xA0, 0x00, 0x00, 0x00, 0x18, 0x80, 0x00, 0x00, 0x00, 0x06, 0x62}

// errShortResponse: a response without a status word, which vpcd gives
// when the card leaves in the middle of an exchange.
var errShortResponse = errors.New("response without a status word")

// errNoReference: the card answered 6A88 for a PIN or PUK reference, so it
// has no such PIN. Callers turn it into ErrNoSignaturePIN or ErrNoPUK.
var errNoReference = errors.New("reference not found on the card")

// swError is a status word other than 9000, kept as the cause under a
// *cardreader.CardError.
type swError struct{ sw uint16 }

func (e *swError) Error() string { return fmt.Sprintf("card returned status %04X", e.sw) }

func (e *swError) Unwrap() error { return &cardreader.CardError{SW: e.sw} }

// sw is the status word in err, or 0.
func sw(err error) uint16 {
	var se *swError
	if errors.As(err, &se) {
		return se.sw
	}
	return 0
}

// session is one PC/SC connection to the card inside a transaction. tx is
// the seam unit tests drive with scripted answers; release ends the
// transaction and the connection.
type session struct {
	tx      func(apdu []byte) ([]byte, error)
	release func(reset bool)
	// atr is the card's ATR as PC/SC reports it (nil from a script).
	atr []byte
	// pinSent is set once a PIN or PUK went to the card: the card is then
	// reset on release, so no other program finds it verified (the applet
	// has no logout APDU).
	pinSent bool
}

// end releases the card, resetting it after a PIN was presented.
func (s *session) end() { s.release(s.pinSent) }

// connectPCSC connects to reader (shared, in a transaction), retrying while
// another program holds the card for up to busy. No APDU is sent.
func connectPCSC(ctx context.Context, reader string, busy time.Duration) (*session, error) {
	conn, err := pcsc.Connect(ctx, reader, busy)
	if err != nil {
		return nil, err
	}
	return &session{tx: conn.Transmit, release: conn.Close, atr: conn.ATR}, nil
}

// raw sends one APDU and splits off the status word.
func (s *session) raw(apdu []byte) ([]byte, uint16, error) {
	resp, err := s.tx(apdu)
	if err != nil {
		return nil, 0, err
	}
	if len(resp) < 2 {
		return nil, 0, fmt.Errorf("%w (%d bytes)", errShortResponse, len(resp))
	}
	n := len(resp) - 2
	return resp[:n], binary.BigEndian.Uint16(resp[n:]), nil
}

// exchange sends one short APDU. When it ends in Le (hasLe), a 6Cxx (wrong
// Le) resends it with Le = xx; 61xx continuations are collected with GET
// RESPONSE (ISO/IEC 7816-4 section 5.1.3).
func (s *session) exchange(apdu []byte, hasLe bool) ([]byte, uint16, error) {
	resp, code, err := s.raw(apdu)
	if err != nil {
		return nil, 0, err
	}
	if hasLe && code>>8 == 0x6C {
		again := bytes.Clone(apdu)
		again[len(again)-1] = byte(code)
		if resp, code, err = s.raw(again); err != nil {
			return nil, 0, err
		}
	}
	for code>>8 == 0x61 {
		if len(resp) > maxResponse {
			return nil, 0, errors.New("response too long")
		}
		var more []byte
		if more, code, err = s.raw([]byte{0x00, insGetResponse, 0x00, 0x00, byte(code)}); err != nil {
			return nil, 0, err
		}
		resp = append(resp, more...)
	}
	return resp, code, nil
}

// command is exchange with any status but 9000 as a *swError.
func (s *session) command(apdu []byte, hasLe bool) ([]byte, error) {
	resp, code, err := s.exchange(apdu, hasLe)
	if err != nil {
		return nil, err
	}
	if code != swOK {
		return resp, &swError{code}
	}
	return resp, nil
}

// selectApplet selects the IDPrime applet: P2 = 0C (no FCI back), as
// OpenSC sends it, and on 6A86 once more with P2 = 00, as OpenSC retries.
// A refusal means this is not an IDPrime card: ErrUnsupportedCard.
func (s *session) selectApplet() error {
	apdu := append([]byte{0x00, insSelect, 0x04, 0x0C, byte(len(aidIDPrime))}, aidIDPrime...)
	_, err := s.command(apdu, false)
	if sw(err) == swWrongP1P2 {
		apdu[3] = 0x00
		_, err = s.command(append(apdu, 0x00), true)
	}
	if sw(err) != 0 {
		return fmt.Errorf("selecting the IDPrime applet: %w: %w", err, cardreader.ErrUnsupportedCard)
	}
	return err
}

// selectFile selects an elementary file by its FID (00 A4 08 00, Le = 00
// as OpenSC sends it) and returns its size from the FCI.
func (s *session) selectFile(fid uint16) (int, error) {
	fci, err := s.command([]byte{0x00, insSelect, 0x08, 0x00, 0x02, byte(fid >> 8), byte(fid), 0x00}, true)
	if err != nil {
		return 0, fmt.Errorf("selecting file %04X: %w", fid, err)
	}
	n, ok := fciSize(fci)
	if !ok {
		return 0, fmt.Errorf("selecting file %04X: no size in the FCI", fid)
	}
	return n, nil
}

// readBinary reads size bytes of the selected file in chunks of up to 256
// (short APDUs only; the applet is strict about lengths, so no chunk asks
// past the end).
func (s *session) readBinary(size int) ([]byte, error) {
	if size > 0x7FFF { // P1's top bit would mean a short file identifier
		return nil, fmt.Errorf("file of %d bytes: too large", size)
	}
	out := make([]byte, 0, size)
	for len(out) < size {
		off := len(out)
		le := min(readChunk, size-off)
		data, code, err := s.exchange([]byte{0x00, insReadBinary, byte(off >> 8), byte(off), byte(le)}, true)
		if err != nil {
			return nil, err
		}
		if code != swOK && code != swEndOfFile {
			return nil, &swError{code}
		}
		if len(data) == 0 || len(data) > le {
			return nil, fmt.Errorf("READ BINARY at %d: %d bytes for %d asked", off, len(data), le)
		}
		out = append(out, data...)
		if code == swEndOfFile {
			break
		}
	}
	return out, nil
}

// readFile selects fid and reads all of it, refusing a file over max.
func (s *session) readFile(fid uint16, max int) ([]byte, error) {
	n, err := s.selectFile(fid)
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("file %04X: %d bytes, more than %d", fid, n, max)
	}
	b, err := s.readBinary(n)
	if err != nil {
		return nil, fmt.Errorf("reading file %04X: %w", fid, err)
	}
	return b, nil
}

// tries reads the tries left of a PIN or PUK with an empty VERIFY, which
// spends nothing: 63Cx = x left, 6983 = blocked, 9000 = verified in this
// card session (the count is not given: -1), 6A88 = errNoReference.
func (s *session) tries(ref byte) (cardreader.PINStatus, error) {
	_, code, err := s.exchange([]byte{0x00, insVerify, 0x00, ref}, false)
	switch {
	case err != nil:
		return cardreader.PINStatus{}, err
	case code == swOK:
		return cardreader.PINStatus{Retries: -1}, nil
	case code&0xFFF0 == 0x63C0:
		n := int(code & 0x0F)
		return cardreader.PINStatus{Retries: n, Blocked: n == 0}, nil
	case code == swAuthBlocked:
		return cardreader.PINStatus{Retries: 0, Blocked: true}, nil
	case code == swRefNotFound:
		return cardreader.PINStatus{}, errNoReference
	}
	return cardreader.PINStatus{}, &swError{code}
}

// pinCommand sends a VERIFY (one secret), CHANGE REFERENCE DATA or RESET
// RETRY COUNTER (two) for ref. The secrets go from their Secrets straight
// into the APDU buffer, padded with 00 to 16 bytes each, and the buffer is
// zeroed after transmit. The status is returned for the caller to map.
func (s *session) pinCommand(ins, ref byte, secrets ...*cardreader.Secret) (uint16, error) {
	apdu := make([]byte, 5+pinBlockLen*len(secrets))
	defer clear(apdu)
	copy(apdu, []byte{0x00, ins, 0x00, ref, byte(pinBlockLen * len(secrets))})
	for i, sec := range secrets {
		if sec.Len() > pinBlockLen {
			return 0, errors.New("secret longer than a PIN block")
		}
		copy(apdu[5+i*pinBlockLen:], sec.Bytes())
	}
	s.pinSent = true
	_, code, err := s.exchange(apdu, false)
	return code, err
}

// pinErr maps the status of a command that presented a PIN (puk false) or
// the PUK (puk true): 63Cx wrong with x tries left, 6983 blocked, 6A88 no
// such reference.
func pinErr(code uint16, puk bool) error {
	switch {
	case code == swOK:
		return nil
	case code&0xFFF0 == 0x63C0:
		if puk {
			return &cardreader.WrongPUKError{Retries: int(code & 0x0F)}
		}
		return &cardreader.WrongPINError{Retries: int(code & 0x0F)}
	case code == swAuthBlocked:
		if puk {
			return cardreader.ErrPUKBlocked
		}
		return cardreader.ErrPINBlocked
	case code == swRefNotFound:
		return errNoReference
	}
	return &swError{code}
}

// manageSecurityEnvironment sets the signing key and algorithm: MSE SET
// for the digital-signature template (00 22 41 B6, tags 80 algorithm and
// 84 key reference).
func (s *session) manageSecurityEnvironment(alg, keyRef byte) error {
	_, err := s.command([]byte{0x00, insMSE, 0x41, 0xB6, 0x06, 0x80, 0x01, alg, 0x84, 0x01, keyRef}, false)
	return err
}

// sign hands data (a hash, or a DigestInfo for algorithm 02) to the card
// with PSO HASH (00 2A 90 A0, template 90), then asks for the signature
// with PSO COMPUTE DIGITAL SIGNATURE (00 2A 9E 9A, Le = 00). OpenSC sends
// PSO HASH with Le and requires the card to echo the data; an empty 9000
// is accepted too, anything else is refused.
func (s *session) sign(data []byte) ([]byte, error) {
	if len(data) > 253 {
		return nil, fmt.Errorf("%d bytes to sign: too long for PSO HASH", len(data))
	}
	apdu := append([]byte{0x00, insPSO, 0x90, 0xA0, byte(2 + len(data)), 0x90, byte(len(data))}, data...)
	echo, err := s.command(append(apdu, 0x00), true)
	if err != nil {
		return nil, fmt.Errorf("PSO HASH: %w", err)
	}
	if len(echo) != 0 && !bytes.Equal(echo, data) {
		return nil, errors.New("PSO HASH: the card answered other data than it was given")
	}
	sig, err := s.command([]byte{0x00, insPSO, 0x9E, 0x9A, 0x00}, true)
	if err != nil {
		return nil, fmt.Errorf("PSO COMPUTE DIGITAL SIGNATURE: %w", err)
	}
	return sig, nil
}
