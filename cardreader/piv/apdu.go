package piv

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// The APDU layer: one PC/SC connection to the card (cardreader/pcsc,
// shared access inside a transaction) with the PIV application selected,
// the commands the backend sends, and the BER-TLV reader for their
// answers. Every operation of the backend runs in one such session; the
// commands that carry a PIN, a PUK or the management key are in secret.go,
// signing in sign.go.

// Status words (ISO/IEC 7816-4 section 5.1.3; SP 800-73-4 Part 2 Table 6).
const (
	swOK               = 0x9000
	swNotFound         = 0x6A82
	swRefNotFound      = 0x6A88
	swSecurityStatus   = 0x6982
	swAuthBlocked      = 0x6983
	swInsNotSupported  = 0x6D00
	swFuncNotSupported = 0x6A81
	swWrongP1P2        = 0x6A86
)

// Instructions.
const (
	insSelect          = 0xA4
	insGetData         = 0xCB
	insPutData         = 0xDB
	insVerify          = 0x20
	insGeneralAuth     = 0x87
	insGetResponse     = 0xC0
	insGetSerial       = 0xF8 // Yubico extension
	insGetMetadata     = 0xF7 // Yubico extension
	insGetVersion      = 0xFD // Yubico extension
	insChangeReference = 0x24
	insResetRetry      = 0x2C
	objPrinted         = 0x5FC109 // Yubico: the PIN-protected management key
	refPIN             = 0x80
	refPUK             = 0x81
	refManagement      = 0x9B
	algTripleDES       = 0x03
	algAES128          = 0x08
	algAES192          = 0x0A
	algAES256          = 0x0C
	objCHUID           = 0x5FC102
	objKeyHistory      = 0x5FC10C
	tagCHUIDGUID       = 0x34
	tagCHUIDFASCN      = 0x30
	tagOnCardCerts     = 0xC1
	tagDataObject      = 0x53
	tagCertificate     = 0x70
	tagCertInfo        = 0x71
	certInfoGzipped    = 0x01
)

// aidPIV is the PIV application identifier, right-truncated as SP 800-73-4
// Part 2 section 3.1.1 allows.
var aidPIV = []byte{0xA0, 0x00, 0x00, 0x03, 0x08}

// errShortResponse: a response without a status word, which vpcd gives
// when the card leaves in the middle of an exchange.
var errShortResponse = errors.New("response without a status word")

// swError is a status word other than 9000.
type swError struct{ sw uint16 }

func (e *swError) Error() string { return fmt.Sprintf("card returned status %04X", e.sw) }

func (e *swError) Unwrap() error { return &cardreader.CardError{SW: e.sw} }

// session is one PC/SC connection to the card inside a transaction, with
// the PIV application selected.
type session struct {
	conn *pcsc.Conn
	// tx sends one APDU: conn.Transmit, or a stand-in in tests that check
	// what a command carried and that its buffer was wiped.
	tx func(apdu []byte) ([]byte, error)
	// shortOnly, shared with the Card, is set once extended lengths were
	// refused.
	shortOnly *atomic.Bool
}

// openSession connects to reader (shared, in a transaction) and selects
// the PIV application. A card held by another program is retried until
// busy has passed.
func openSession(ctx context.Context, reader string, busy time.Duration) (*session, error) {
	conn, err := pcsc.Connect(ctx, reader, busy)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn, tx: conn.Transmit}
	if _, err := s.do(0x00, insSelect, 0x04, 0x00, aidPIV); err != nil {
		s.close(false)
		var se *swError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("selecting PIV: %w: %w", err, cardreader.ErrUnsupportedCard)
		}
		return nil, err
	}
	return s, nil
}

// close ends the transaction and the connection. reset resets the card,
// which clears a verified PIN and an authenticated management key for
// everybody (SP 800-73-4 Part 2 section 3.1.1: security status is lost on
// reset).
func (s *session) close(reset bool) {
	if s.conn != nil {
		s.conn.Close(reset)
	}
}

// do sends one command (short APDU, chained when data exceeds 255 bytes,
// Le = 00) and collects 61xx continuations with GET RESPONSE.
func (s *session) do(cla, ins, p1, p2 byte, data []byte) ([]byte, error) {
	for len(data) > 255 {
		apdu := append([]byte{cla | 0x10, ins, p1, p2, 255}, data[:255]...)
		if _, sw, err := s.transmit(apdu); err != nil {
			return nil, err
		} else if sw != swOK {
			return nil, &swError{sw}
		}
		data = data[255:]
	}
	apdu := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		apdu = append(append(apdu, byte(len(data))), data...)
	}
	apdu = append(apdu, 0x00)
	resp, sw, err := s.transmit(apdu)
	if err != nil {
		return nil, err
	}
	for sw>>8 == 0x61 {
		var more []byte
		more, sw, err = s.transmit([]byte{0x00, insGetResponse, 0x00, 0x00, byte(sw)})
		if err != nil {
			return nil, err
		}
		resp = append(resp, more...)
	}
	if sw>>8 == 0x6C { // wrong Le: resend with the right one
		apdu[len(apdu)-1] = byte(sw)
		if resp, sw, err = s.transmit(apdu); err != nil {
			return nil, err
		}
	}
	if sw != swOK {
		return resp, &swError{sw}
	}
	return resp, nil
}

// doExtended sends one extended-length command with Le = 65536 (Lc and Le
// of two bytes after a 00).
func (s *session) doExtended(cla, ins, p1, p2 byte, data []byte) ([]byte, error) {
	apdu := []byte{cla, ins, p1, p2, 0x00, byte(len(data) >> 8), byte(len(data))}
	apdu = append(append(apdu, data...), 0x00, 0x00)
	resp, code, err := s.transmit(apdu)
	if err != nil {
		return nil, err
	}
	for code>>8 == 0x61 { // a card may still chain its answer
		var more []byte
		if more, code, err = s.transmit([]byte{0x00, insGetResponse, 0x00, 0x00, byte(code)}); err != nil {
			return nil, err
		}
		resp = append(resp, more...)
	}
	if code != swOK {
		return resp, &swError{code}
	}
	return resp, nil
}

// extendedRefused reports whether err says extended lengths are not
// supported: wrong length (67xx), or a reader that cannot carry them.
func extendedRefused(err error) bool {
	if sw(err)>>8 == 0x67 {
		return true
	}
	var pe *cardreader.PCSCError
	if errors.As(err, &pe) {
		switch pe.Code {
		case 0x80100004, 0x80100008, 0x80100011: // INVALID_PARAMETER, INSUFFICIENT_BUFFER, INVALID_VALUE
			return true
		}
	}
	return false
}

func (s *session) transmit(apdu []byte) ([]byte, uint16, error) {
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

// getData reads a data object (SP 800-73-4 Part 2 section 3.1.2) and
// returns the contents of its 53 template. A missing object is nil, nil.
//
// It asks for the whole object in one extended-length response (ISO/IEC
// 7816-4 section 5.1): a 1.2 kB certificate then costs one APDU instead of
// six (GET DATA and five GET RESPONSE of 256 bytes). A card or reader that
// refuses extended lengths gets short APDUs from then on.
func (s *session) getData(tag uint32) ([]byte, error) {
	data := []byte{0x5C, 0x03, byte(tag >> 16), byte(tag >> 8), byte(tag)}
	var resp []byte
	var err error
	if s.shortOnly == nil || !s.shortOnly.Load() {
		resp, err = s.doExtended(0x00, insGetData, 0x3F, 0xFF, data)
		if extendedRefused(err) && s.shortOnly != nil {
			s.shortOnly.Store(true)
		}
	}
	if s.shortOnly != nil && s.shortOnly.Load() {
		resp, err = s.do(0x00, insGetData, 0x3F, 0xFF, data)
	}
	if sw(err) == swNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, _, ok := readTLV(resp)
	if !ok || v.tag != tagDataObject {
		return nil, fmt.Errorf("object %06X: malformed response", tag)
	}
	return v.value, nil
}

// deleteData deletes a data object: PUT DATA with an empty 53 (SP 800-73-4
// Part 2 section 3.3.2). Needs the management key.
func (s *session) deleteData(tag uint32) error {
	_, err := s.do(0x00, insPutData, 0x3F, 0xFF, []byte{0x5C, 0x03, byte(tag >> 16), byte(tag >> 8), byte(tag), 0x53, 0x00})
	return err
}

// retries reads the tries left of the PIN or PUK (ref 80/81) with Yubico's
// GET METADATA (tag 06: total, remaining), which spends nothing. ok is
// false when the card does not know the command.
func (s *session) retries(ref byte) (n int, ok bool, err error) {
	resp, err := s.do(0x00, insGetMetadata, 0x00, ref, nil)
	switch sw(err) {
	case swInsNotSupported, swFuncNotSupported, swWrongP1P2, swRefNotFound, swNotFound:
		return -1, false, nil
	}
	if err != nil {
		return -1, false, err
	}
	for rest := resp; len(rest) > 0; {
		var v tlv
		var ok bool
		if v, rest, ok = readTLV(rest); !ok {
			break
		}
		if v.tag == 0x06 && len(v.value) == 2 {
			return int(v.value[1]), true, nil
		}
	}
	return -1, false, nil
}

// pinRetries reads the PIN's tries left: GET METADATA, else an empty
// VERIFY (SP 800-73-4 Part 2 section 3.2.1: 63Cx, or 9000 when the PIN is
// already verified, which tells nothing about the count).
func (s *session) pinRetries() (int, error) {
	n, ok, err := s.retries(refPIN)
	if err != nil || ok {
		return n, err
	}
	_, err = s.do(0x00, insVerify, 0x00, refPIN, nil)
	code := sw(err)
	switch {
	case err == nil:
		return -1, nil
	case code&0xFFF0 == 0x63C0:
		return int(code & 0x0F), nil
	case code == swAuthBlocked:
		return 0, nil
	}
	return -1, err
}

// managementAlgorithm asks GET METADATA for the management key's
// algorithm, else guesses it from the key's length (24 bytes: 3DES, the
// PIV default; 16 or 32: AES).
func (s *session) managementAlgorithm(keyLen int) byte {
	resp, err := s.do(0x00, insGetMetadata, 0x00, refManagement, nil)
	if err == nil {
		if v, _, ok := readTLV(resp); ok && v.tag == 0x01 && len(v.value) == 1 {
			return v.value[0]
		}
	}
	switch keyLen {
	case 16:
		return algAES128
	case 32:
		return algAES256
	}
	return algTripleDES
}

// authenticateManagement proves the management key with mutual
// authentication (SP 800-73-4 Part 2 Appendix A.1, with a witness).
func (s *session) authenticateManagement(key []byte) error {
	alg := s.managementAlgorithm(len(key))
	var block cipher.Block
	var err error
	switch alg {
	case algAES128, algAES192, algAES256:
		block, err = aes.NewCipher(key)
	case algTripleDES:
		block, err = des.NewTripleDESCipher(key)
	default:
		return fmt.Errorf("management key algorithm %02X: %w", alg, cardreader.ErrManagementKey)
	}
	if err != nil {
		return fmt.Errorf("management key: %v: %w", err, cardreader.ErrManagementKey)
	}
	n := block.BlockSize()
	resp, err := s.do(0x00, insGeneralAuth, alg, refManagement, []byte{0x7C, 0x02, 0x80, 0x00})
	if err != nil {
		return authErr(err)
	}
	witness, ok := dynamicAuthItem(resp, 0x80, n)
	if !ok {
		return errors.New("management key: malformed witness")
	}
	plain := make([]byte, n)
	block.Decrypt(plain, witness)
	challenge := make([]byte, n)
	if _, err := rand.Read(challenge); err != nil {
		return err
	}
	body := append(append([]byte{0x80, byte(n)}, plain...), append([]byte{0x81, byte(n)}, challenge...)...)
	resp, err = s.do(0x00, insGeneralAuth, alg, refManagement, append([]byte{0x7C, byte(len(body))}, body...))
	if err != nil {
		return authErr(err)
	}
	got, ok := dynamicAuthItem(resp, 0x82, n)
	want := make([]byte, n)
	block.Encrypt(want, challenge)
	if !ok || !bytes.Equal(got, want) {
		return fmt.Errorf("management key: card's response does not match: %w", cardreader.ErrManagementKey)
	}
	return nil
}

func authErr(err error) error {
	switch sw(err) {
	case swSecurityStatus, swAuthBlocked, 0x6A80:
		return fmt.Errorf("management key: %w: %w", err, cardreader.ErrManagementKey)
	}
	return err
}

// dynamicAuthItem finds item tag of n bytes (any length if n < 0) in a 7C
// template.
func dynamicAuthItem(resp []byte, tag uint32, n int) ([]byte, bool) {
	t, _, ok := readTLV(resp)
	if !ok || t.tag != 0x7C {
		return nil, false
	}
	for rest := t.value; len(rest) > 0; {
		var v tlv
		if v, rest, ok = readTLV(rest); !ok {
			return nil, false
		}
		if v.tag == tag && (n < 0 || len(v.value) == n) {
			return v.value, true
		}
	}
	return nil, false
}

// sw is the status word in err, or 0.
func sw(err error) uint16 {
	var se *swError
	if errors.As(err, &se) {
		return se.sw
	}
	return 0
}

type tlv struct {
	tag   uint32
	value []byte
}

// readTLV reads one BER-TLV (ISO/IEC 7816-4 section 5.2.2; tags of up to
// three bytes, lengths of up to three).
func readTLV(b []byte) (tlv, []byte, bool) {
	if len(b) < 2 {
		return tlv{}, nil, false
	}
	tag := uint32(b[0])
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) || i >= 3 { // a fourth tag byte: longer than this reader takes
				return tlv{}, nil, false
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return tlv{}, nil, false
	}
	l := int(b[i])
	i++
	switch {
	case l == 0x81:
		if i+1 > len(b) {
			return tlv{}, nil, false
		}
		l = int(b[i])
		i++
	case l == 0x82:
		if i+2 > len(b) {
			return tlv{}, nil, false
		}
		l = int(b[i])<<8 | int(b[i+1])
		i += 2
	case l > 0x80:
		return tlv{}, nil, false
	}
	if i+l > len(b) {
		return tlv{}, nil, false
	}
	return tlv{tag: tag, value: b[i : i+l]}, b[i+l:], true
}
