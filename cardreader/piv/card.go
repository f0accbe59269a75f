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

	piv "github.com/sithseid/sithseid/cardreader/piv/internal/pivgo"

	"github.com/sithseid/sithseid/cardreader"
)

// slotInfo is a PIV key reference with its certificate object (SP 800-73-4
// Part 1 Table 3 and section 3.3.2, retired key management 82–95).
type slotInfo struct {
	key    byte
	object uint32
	label  string
}

var primarySlots = []slotInfo{
	{0x9A, 0x5FC105, "PIV Authentication"},
	{0x9C, 0x5FC10A, "Digital Signature"},
	{0x9D, 0x5FC10B, "Key Management"},
	{0x9E, 0x5FC101, "Card Authentication"},
}

func retiredSlot(i int) slotInfo {
	return slotInfo{byte(0x82 + i), uint32(0x5FC10D + i), "Retired Key Management " + strconv.Itoa(i+1)}
}

// slotByID parses a certificate ID ("9a", "82") into its slot.
func slotByID(id string) (slotInfo, bool) {
	for _, s := range primarySlots {
		if id == hex.EncodeToString([]byte{s.key}) {
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
// Two or three APDUs.
func (c *Card) ID(ctx context.Context) (string, error) {
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
// has no key history.
func (c *Card) Certificates(ctx context.Context) ([]cardreader.Certificate, error) {
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
		obj, err := s.getData(sl.object)
		if err != nil {
			return nil, fmt.Errorf("slot %02x: %w", sl.key, err)
		}
		if len(obj) == 0 {
			continue // absent or deleted
		}
		cert, err := parseCertObject(obj)
		if err != nil {
			return nil, fmt.Errorf("slot %02x: %w", sl.key, err)
		}
		out = append(out, cardreader.Certificate{ID: fmt.Sprintf("%02x", sl.key), Label: sl.label, Cert: cert})
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

// withPIN opens the card with piv-go, refuses a blocked PIN without
// spending anything, runs f, closes and resets the card.
func (c *Card) withPIN(ctx context.Context, f func(yk *piv.YubiKey) error) error {
	yk, err := c.openYubiKey(ctx)
	if err != nil {
		return err
	}
	// Retries before anything else: piv-go's Retries fails once the PIN is
	// verified (FIELD-NOTES), and a blocked PIN must not be tried.
	n, rerr := yk.Retries()
	if rerr == nil && n == 0 {
		yk.Close()
		return cardreader.ErrPINBlocked
	}
	err = f(yk)
	yk.Close()
	c.resetCard()
	return err
}

// VerifyPIN checks pin (VERIFY, SP 800-73-4 Part 2 section 3.2.1).
func (c *Card) VerifyPIN(ctx context.Context, pin *cardreader.Secret) error {
	if err := checkPINFormat(pin); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.withPIN(ctx, func(yk *piv.YubiKey) error {
		return mapErr(yk.VerifyPINBytes(pin.Bytes()), pinSecret, c.reader)
	})
	if err != nil {
		return fmt.Errorf("verifying PIN: %w", err)
	}
	return nil
}

// ChangePIN replaces the PIN (CHANGE REFERENCE DATA, SP 800-73-4 Part 2
// section 3.2.2).
func (c *Card) ChangePIN(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error {
	if err := checkPINFormat(oldPIN); err != nil {
		return err
	}
	if err := checkPINFormat(newPIN); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.withPIN(ctx, func(yk *piv.YubiKey) error {
		return mapErr(yk.SetPINBytes(oldPIN.Bytes(), newPIN.Bytes()), pinSecret, c.reader)
	})
	if err != nil {
		return fmt.Errorf("changing PIN: %w", err)
	}
	return nil
}

// UnblockPIN sets a new PIN with the PUK (RESET RETRY COUNTER, SP 800-73-4
// Part 2 section 3.2.3). A blocked PUK is refused without trying it.
func (c *Card) UnblockPIN(ctx context.Context, puk, newPIN *cardreader.Secret) error {
	if puk.Len() == 0 || puk.Len() > 8 {
		return &cardreader.PINPolicyError{Reason: cardreader.PUKWrongLength}
	}
	if err := checkPINFormat(newPIN); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.pukStatus(ctx)
	if err != nil {
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	if st.Blocked {
		return fmt.Errorf("unblocking PIN: %w", cardreader.ErrPUKBlocked)
	}
	yk, err := c.openYubiKey(ctx)
	if err != nil {
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	err = mapErr(yk.UnblockBytes(puk.Bytes(), newPIN.Bytes()), pukSecret, c.reader)
	yk.Close()
	c.resetCard()
	if err != nil {
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	return nil
}

// RemoveCertificate deletes the certificate in slot certID: PUT DATA of an
// empty object after authenticating with the management key (auth's, else
// the PIN-protected one stored on the card, read with auth.PIN through
// piv-go's Metadata, else the default key). The slot's private key stays:
// PIV has no command to delete a key. The card's cached identity is
// forgotten.
func (c *Card) RemoveCertificate(ctx context.Context, certID string, auth cardreader.RemoveAuth) error {
	slot, ok := slotByID(certID)
	if !ok {
		return fmt.Errorf("removing certificate %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key, err := c.managementKey(ctx, auth)
	if err != nil {
		return fmt.Errorf("removing certificate %s: %w", certID, err)
	}
	defer clear(key)
	s, err := c.session(ctx)
	if err != nil {
		return fmt.Errorf("removing certificate %s: %w", certID, err)
	}
	// Reset on close: the management key must not stay authenticated.
	defer s.close(true)
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
	obj, err := s.getData(slot.object)
	if err != nil {
		return err
	}
	if len(obj) == 0 {
		return cardreader.ErrCertificateNotFound
	}
	if err := s.authenticateManagement(key); err != nil {
		return err
	}
	return s.deleteData(slot.object)
}

// managementKey returns a copy of the key to use; the caller clears it.
func (c *Card) managementKey(ctx context.Context, auth cardreader.RemoveAuth) ([]byte, error) {
	if !auth.ManagementKey.Empty() {
		return bytes.Clone(auth.ManagementKey.Bytes()), nil
	}
	if !auth.PIN.Empty() {
		if err := checkPINFormat(auth.PIN); err != nil {
			return nil, err
		}
		var key []byte
		err := c.withPIN(ctx, func(yk *piv.YubiKey) error {
			m, err := yk.MetadataBytes(auth.PIN.Bytes())
			if err != nil {
				return mapErr(err, pinSecret, c.reader)
			}
			if m.ManagementKey != nil {
				key = bytes.Clone(*m.ManagementKey)
				clear(*m.ManagementKey)
			}
			return nil
		})
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
