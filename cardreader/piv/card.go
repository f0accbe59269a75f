package piv

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-piv/piv-go/v2/piv"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// slotInfo is a PIV key reference with its certificate object (piv-go's
// slots: SP 800-73-4 Part 1 Table 3 and section 3.3.2, retired key
// management 82–95) and the name SP 800-73-4 gives it.
type slotInfo struct {
	piv.Slot
	label string
}

var primarySlots = []slotInfo{
	{piv.SlotAuthentication, "PIV Authentication"},
	{piv.SlotSignature, "Digital Signature"},
	{piv.SlotKeyManagement, "Key Management"},
	{piv.SlotCardAuthentication, "Card Authentication"},
}

// retiredSlot is retired key management slot i (0–19: 82–95).
func retiredSlot(i int) slotInfo {
	s, _ := piv.RetiredKeyManagementSlot(uint32(0x82 + i))
	return slotInfo{s, "Retired Key Management " + strconv.Itoa(i+1)}
}

// slotByID parses a certificate ID ("9a", "82") into its slot.
func slotByID(id string) (slotInfo, bool) {
	for _, s := range primarySlots {
		if id == hex.EncodeToString([]byte{byte(s.Key)}) {
			return s, true
		}
	}
	k, err := strconv.ParseUint(id, 16, 8)
	if err == nil && k >= 0x82 && k <= 0x95 && len(id) == 2 && id == strings.ToLower(id) {
		return retiredSlot(int(k - 0x82)), true
	}
	return slotInfo{}, false
}

// ID identifies the card: the GUID of its CHUID (SP 800-73-4 Part 1
// section 3.1.2), else its serial (Yubico GET SERIAL), else its FASC-N.
// Two or three APDUs; none when the session that opened the card read it
// a moment ago (prefetch).
func (c *Card) ID(ctx context.Context) (string, error) {
	if id, ok := c.pre.TakeID(c.reader, pcsc.ReaderEvents); ok {
		return id, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return "", err
	}
	defer s.close(false)
	id, err := s.cardID()
	if err != nil {
		return "", fmt.Errorf("reading card ID: %w", c.mapSessionErr(err))
	}
	c.bind.SetID(s.conn.State(), id)
	return id, nil
}

func (s *session) cardID() (string, error) {
	chuid, err := s.getData(objCHUID)
	if err != nil {
		return "", err
	}
	var fascn []byte
	for rest := chuid; len(rest) > 0; {
		v, r, ok := readTLV(rest)
		if !ok {
			break
		}
		rest = r
		switch v.tag {
		case tagCHUIDGUID:
			if len(v.value) == 16 && !allZero(v.value) {
				return "guid:" + hex.EncodeToString(v.value), nil
			}
		case tagCHUIDFASCN:
			fascn = v.value
		}
	}
	if serial, err := s.do(0x00, insGetSerial, 0x00, 0x00, nil); err == nil && len(serial) == 4 {
		return "serial:" + strconv.FormatUint(uint64(serial[0])<<24|uint64(serial[1])<<16|uint64(serial[2])<<8|uint64(serial[3]), 10), nil
	}
	if len(fascn) > 0 && !allZero(fascn) {
		return "fascn:" + hex.EncodeToString(fascn), nil
	}
	return "", fmt.Errorf("no CHUID GUID, serial or FASC-N: %w", cardreader.ErrUnsupportedCard)
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// Certificates reads the certificates of slots 9A, 9C, 9D, 9E and of the
// retired slots the key history object counts (SP 800-73-4 Part 1 section
// 3.3.2, keysWithOnCardCerts), or of all twenty retired slots when the card
// has no key history. No APDU when the session that opened the card read
// them a moment ago (a card whose identity was not cached, prefetch.go).
func (c *Card) Certificates(ctx context.Context) ([]cardreader.Certificate, error) {
	if certs, ok := c.pre.TakeCertificates(c.reader, pcsc.ReaderEvents); ok {
		return certs, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close(false)
	certs, err := s.certificates(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading certificates: %w", c.mapSessionErr(err))
	}
	return certs, nil
}

func (s *session) certificates(ctx context.Context) ([]cardreader.Certificate, error) {
	retired := 20
	kh, err := s.getData(objKeyHistory)
	if err != nil {
		return nil, err
	}
	if kh != nil {
		for rest := kh; len(rest) > 0; {
			v, r, ok := readTLV(rest)
			if !ok {
				break
			}
			rest = r
			if v.tag == tagOnCardCerts && len(v.value) == 1 {
				retired = min(int(v.value[0]), 20)
			}
		}
	}
	slots := append([]slotInfo(nil), primarySlots...)
	for i := range retired {
		slots = append(slots, retiredSlot(i))
	}
	var out []cardreader.Certificate
	for _, sl := range slots {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		obj, err := s.getData(sl.Object)
		if err != nil {
			return nil, fmt.Errorf("slot %02x: %w", sl.Key, err)
		}
		if len(obj) == 0 {
			continue // absent or deleted
		}
		cert, err := parseCertObject(obj)
		if err != nil {
			return nil, fmt.Errorf("slot %02x: %w", sl.Key, err)
		}
		out = append(out, cardreader.Certificate{ID: fmt.Sprintf("%02x", sl.Key), Label: sl.label, Cert: cert})
	}
	return out, nil
}

// parseCertObject reads a certificate object's 70 (certificate) and 71
// (CertInfo: 01 = gzip-compressed) tags (SP 800-73-4 Part 1 Appendix A).
func parseCertObject(obj []byte) (*x509.Certificate, error) {
	var der []byte
	gz := false
	for rest := obj; len(rest) > 0; {
		v, r, ok := readTLV(rest)
		if !ok {
			break
		}
		rest = r
		switch v.tag {
		case tagCertificate:
			der = v.value
		case tagCertInfo:
			gz = len(v.value) == 1 && v.value[0]&certInfoGzipped != 0
		}
	}
	if der == nil {
		return nil, errors.New("certificate object without certificate")
	}
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(der))
		if err != nil {
			return nil, fmt.Errorf("compressed certificate: %w", err)
		}
		if der, err = io.ReadAll(io.LimitReader(zr, 64<<10)); err != nil {
			return nil, fmt.Errorf("compressed certificate: %w", err)
		}
	}
	return x509.ParseCertificate(der)
}

// PINStatus reads the PIN's tries left with GET METADATA, else an empty
// VERIFY; neither spends a try.
func (c *Card) PINStatus(ctx context.Context) (cardreader.PINStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return cardreader.PINStatus{}, err
	}
	defer s.close(false)
	n, err := s.pinRetries()
	if err != nil {
		return cardreader.PINStatus{}, fmt.Errorf("reading PIN tries: %w", c.mapSessionErr(err))
	}
	return cardreader.PINStatus{Retries: n, Blocked: n == 0}, nil
}

// PUKStatus reads the PUK's tries left with Yubico's GET METADATA (81). A
// PIV card without it has no way to tell without spending a try (SP
// 800-73-4 has no empty-VERIFY for the PUK: it cannot be verified at all),
// so Retries is then -1.
func (c *Card) PUKStatus(ctx context.Context) (cardreader.PINStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pukStatus(ctx)
}

func (c *Card) pukStatus(ctx context.Context) (cardreader.PINStatus, error) {
	s, err := c.session(ctx)
	if err != nil {
		return cardreader.PINStatus{}, err
	}
	defer s.close(false)
	n, _, err := s.retries(refPUK)
	if err != nil {
		return cardreader.PINStatus{}, fmt.Errorf("reading PUK tries: %w", c.mapSessionErr(err))
	}
	return cardreader.PINStatus{Retries: n, Blocked: n == 0}, nil
}

// checkPINFormat refuses, before the card sees it, a PIN no PIV card
// accepts (SP 800-73-4 Part 2 section 2.4.3: 6–8 digits); sending it would
// only spend a try.
func checkPINFormat(pin *cardreader.Secret) error {
	b := pin.Bytes()
	if len(b) < cardreader.MinPINLength || len(b) > cardreader.MaxPINLength {
		return &cardreader.PINPolicyError{Reason: lengthReason(len(b))}
	}
	for _, x := range b {
		if x < '0' || x > '9' {
			return &cardreader.PINPolicyError{Reason: cardreader.PINNotDigits}
		}
	}
	return nil
}

func lengthReason(n int) cardreader.PINPolicyReason {
	if n < cardreader.MinPINLength {
		return cardreader.PINTooShort
	}
	return cardreader.PINTooLong
}

// withPIN opens a session, refuses a blocked PIN without spending a try
// (GET METADATA or an empty VERIFY: neither spends one), runs f, and closes
// with a card reset, so that no other program finds the PIN verified (SP
// 800-73-4 Part 2 section 3.1.1: a reset clears the security status).
func (c *Card) withPIN(ctx context.Context, f func(s *session) error) error {
	return c.withPINTries(ctx, true, f)
}

// withPINTries is withPIN; without readTries it skips the tries read: for
// CHANGE REFERENCE DATA, whose caller has just read the tries (app: the
// first phase, before the prompt), and which the card itself refuses on a
// blocked PIN (6983) without spending anything.
func (c *Card) withPINTries(ctx context.Context, readTries bool, f func(s *session) error) error {
	s, err := c.session(ctx)
	if err != nil {
		return err
	}
	if err := c.bound(s); err != nil {
		s.close(false)
		return err
	}
	if !readTries {
		err = f(s)
		s.close(true)
		return c.mapSessionErr(err)
	}
	n, err := s.pinRetries()
	if err != nil && sw(err) == 0 {
		s.close(false)
		return c.mapSessionErr(err)
	}
	if n == 0 {
		s.close(false)
		return cardreader.ErrPINBlocked
	}
	err = f(s)
	s.close(true)
	return c.mapSessionErr(err)
}

// VerifyPIN checks pin (VERIFY, SP 800-73-4 Part 2 section 3.2.1).
func (c *Card) VerifyPIN(ctx context.Context, pin *cardreader.Secret) error {
	if err := checkPINFormat(pin); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.withPIN(ctx, func(s *session) error { return s.verifyPIN(pin) })
	if err != nil {
		return fmt.Errorf("verifying PIN: %w", err)
	}
	return nil
}

// ChangePIN replaces the PIN (CHANGE REFERENCE DATA, SP 800-73-4 Part 2
// section 3.2.2): SELECT and the change, two APDUs. The tries are not
// read again: the caller read them before asking for the PIN, and a
// blocked PIN is refused by the card (6983, nothing spent).
func (c *Card) ChangePIN(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error {
	if err := checkPINFormat(oldPIN); err != nil {
		return err
	}
	if err := checkPINFormat(newPIN); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.withPINTries(ctx, false, func(s *session) error { return s.changePIN(oldPIN, newPIN) })
	if err != nil {
		return fmt.Errorf("changing PIN: %w", err)
	}
	return nil
}

// UnblockPIN sets a new PIN with the PUK (RESET RETRY COUNTER, SP 800-73-4
// Part 2 section 3.2.3): SELECT and the reset, two APDUs. The PUK's tries
// are not read again (the caller read them before asking for the PUK); a
// blocked PUK is refused by the card (6983) without anything spent.
func (c *Card) UnblockPIN(ctx context.Context, puk, newPIN *cardreader.Secret) error {
	if puk.Len() == 0 || puk.Len() > pinBlockLen {
		return &cardreader.PINPolicyError{Reason: cardreader.PUKWrongLength}
	}
	if err := checkPINFormat(newPIN); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	if err := c.bound(s); err != nil {
		s.close(false)
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	err = s.unblockPIN(puk, newPIN)
	s.close(true)
	if err != nil {
		return fmt.Errorf("unblocking PIN: %w", c.mapSessionErr(err))
	}
	return nil
}

// RemoveCertificate deletes the certificate in slot certID: PUT DATA of an
// empty object after authenticating with the management key (auth's, else
// the PIN-protected one stored on the card, read after VERIFY with
// auth.PIN, else piv-go's default key), in one session that ends with a
// card reset. The slot's private key stays: PIV has no command to delete a
// key. The card's cached identity is forgotten.
func (c *Card) RemoveCertificate(ctx context.Context, certID string, auth cardreader.RemoveAuth) error {
	slot, ok := slotByID(certID)
	if !ok {
		return fmt.Errorf("removing certificate %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	if auth.ManagementKey.Empty() && !auth.PIN.Empty() {
		if err := checkPINFormat(auth.PIN); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, err := c.session(ctx)
	if err != nil {
		return fmt.Errorf("removing certificate %s: %w", certID, err)
	}
	if err := c.bound(s); err != nil {
		s.close(false)
		return fmt.Errorf("removing certificate %s: %w", certID, err)
	}
	// Reset on close: the PIN and the management key must not stay
	// verified.
	defer s.close(true)
	key, err := s.managementKey(auth)
	if err != nil {
		return fmt.Errorf("removing certificate %s: %w", certID, c.mapSessionErr(err))
	}
	defer clear(key)
	if err := s.removeCertificate(slot, key); err != nil {
		return fmt.Errorf("removing certificate %s: %w", certID, c.mapSessionErr(err))
	}
	if c.opts.Cache != nil {
		if id, err := s.cardID(); err == nil {
			c.opts.Cache.Invalidate(cardreader.CacheKey(cardreader.BackendPIV, id))
		}
	}
	return nil
}

func (s *session) removeCertificate(slot slotInfo, key []byte) error {
	obj, err := s.getData(slot.Object)
	if err != nil {
		return err
	}
	if len(obj) == 0 {
		return cardreader.ErrCertificateNotFound
	}
	if err := s.authenticateManagement(key); err != nil {
		return err
	}
	return s.deleteData(slot.Object)
}

// managementKey returns a copy of the key to use; the caller clears it.
// With auth.PIN it verifies the PIN (a blocked one is not tried) and reads
// the PIN-protected key, which needs the PIN verified in the same session.
func (s *session) managementKey(auth cardreader.RemoveAuth) ([]byte, error) {
	if !auth.ManagementKey.Empty() {
		return bytes.Clone(auth.ManagementKey.Bytes()), nil
	}
	if !auth.PIN.Empty() {
		n, err := s.pinRetries()
		if err != nil && sw(err) == 0 {
			return nil, err
		}
		if n == 0 {
			return nil, cardreader.ErrPINBlocked
		}
		if err := s.verifyPIN(auth.PIN); err != nil {
			return nil, fmt.Errorf("reading the PIN-protected management key: %w", err)
		}
		key, err := s.protectedManagementKey()
		if err != nil {
			return nil, fmt.Errorf("reading the PIN-protected management key: %w", err)
		}
		if key != nil {
			return key, nil
		}
	}
	return bytes.Clone(piv.DefaultManagementKey), nil
}

// mapSessionErr explains an APDU-layer error that carries no PC/SC code: a
// response without a status word means the card left or stopped answering.
func (c *Card) mapSessionErr(err error) error {
	if !errors.Is(err, errShortResponse) || errors.Is(err, cardreader.ErrCardUnresponsive) || errors.Is(err, cardreader.ErrCardRemoved) {
		return err // not a short response, or already mapped
	}
	if perr := probe(c.reader); perr != nil {
		return fmt.Errorf("%v: %w", err, perr)
	}
	return fmt.Errorf("%v: %w", err, cardreader.ErrCardUnresponsive)
}
