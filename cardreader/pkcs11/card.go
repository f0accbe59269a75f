package pkcs11

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// Token names the token a Card was opened on.
type Token struct {
	Label        string
	Manufacturer string
	Model        string
	Serial       string
}

func tokenOf(ti pkcs11.TokenInfo) Token {
	trim := func(s string) string { return strings.TrimRight(s, " \x00") }
	return Token{
		Label:        trim(ti.Label),
		Manufacturer: trim(ti.ManufacturerID),
		Model:        trim(ti.Model),
		Serial:       trim(ti.SerialNumber),
	}
}

// Card is one token in one slot. Every method opens a session, does one
// operation and closes it; the card is never held while idle. Operations on
// one slot are serialised across the process. If the token in the slot is
// replaced by another (a different serial), methods return
// cardreader.ErrCardChanged before any session is opened on the other
// token; once the card was found removed, all later calls return
// cardreader.ErrCardRemoved, even if the same card comes back: a Card is
// one insertion, and the caller opens a new one.
type Card struct {
	mod    *module
	puk    PUKMode
	slot   uint
	reader string
	token  Token
	gone   atomic.Bool
}

var _ cardreader.Card = (*Card)(nil)

// Backend is cardreader.BackendPKCS11.
func (c *Card) Backend() string { return cardreader.BackendPKCS11 }

// Reader is the PC/SC reader name, or "" for a slot that is not a reader.
func (c *Card) Reader() string { return c.reader }

// Slot is the PKCS#11 slot ID.
func (c *Card) Slot() uint { return c.slot }

// Token is the token's label, manufacturer, model and serial as read when
// the card was opened.
func (c *Card) Token() Token { return c.token }

// ID is "manufacturer/model/serial" of the token. The serial alone is not
// unique across manufacturers; the label is left out because the holder's
// middleware may rename it.
func (c *Card) ID(ctx context.Context) (string, error) {
	err := c.do(ctx, false, func(pkcs11.SessionHandle) error { return nil })
	if err != nil {
		return "", err
	}
	return c.token.Manufacturer + "/" + c.token.Model + "/" + c.token.Serial, nil
}

// do runs fn in a fresh session on the card and closes the session. It
// checks ctx before each blocking step, checks that the same token is still
// in the slot, and turns errors that follow a removal into ErrCardRemoved.
//
// A PKCS#11 call cannot be interrupted, and a pulled card can leave one
// blocked for good (measured: OpenSC waiting in SCardTransmit after vpcd
// lost the card mid-APDU). So fn runs on its own goroutine and do returns
// when ctx ends even if the module never does; the slot stays locked until
// it does. owned are copies of PINs that fn uses: do wipes them when fn has
// finished, never earlier, so a caller wiping its own Secret after an
// abandoned call cannot turn a login in flight into a wrong-PIN try.
func (c *Card) do(ctx context.Context, rw bool, fn func(pkcs11.SessionHandle) error, owned ...*cardreader.Secret) error {
	err := c.do1(ctx, rw, fn, owned)
	if errors.Is(err, cardreader.ErrCardRemoved) {
		c.gone.Store(true)
	}
	return err
}

func (c *Card) do1(ctx context.Context, rw bool, fn func(pkcs11.SessionHandle) error, owned []*cardreader.Secret) error {
	wipe := func() {
		for _, s := range owned {
			s.Wipe()
		}
	}
	if err := ctx.Err(); err != nil {
		wipe()
		return err
	}
	if c.gone.Load() {
		wipe()
		return fmt.Errorf("token %q: %w", c.token.Serial, cardreader.ErrCardRemoved)
	}
	unlock, err := c.mod.lockSlot(ctx, c.slot)
	if err != nil {
		wipe()
		return err
	}
	if err := c.mod.begin(); err != nil {
		unlock()
		wipe()
		return err
	}
	done := make(chan error, 1)
	go func() {
		defer unlock()
		defer wipe()
		defer c.mod.end()
		done <- c.session(ctx, rw, fn)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done:
			return err
		default:
		}
		return fmt.Errorf("slot %d: %w: %w", c.slot, errAbandoned, ctx.Err())
	}
}

// clonePIN copies a PIN for an operation that owns it (see do).
func clonePIN(s *cardreader.Secret) *cardreader.Secret {
	return cardreader.NewSecret(append([]byte(nil), s.Bytes()...))
}

// session is the body of do, on the goroutine that owns the slot.
func (c *Card) session(ctx context.Context, rw bool, fn func(pkcs11.SessionHandle) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh, err := c.openSession(ctx, rw)
	if err != nil {
		return err
	}
	err = fn(sh)
	// Closing the last session also ends any login (PKCS#11 v2.40 §5.6
	// C_CloseSession); the error of a session on a removed token is moot.
	_ = c.mod.ctx.CloseSession(sh)
	if errors.Is(err, cardreader.ErrCertificateNotFound) {
		// An object that was listed a moment ago may be missing only
		// because the card went with it.
		if perr := c.pulled(); perr != nil {
			return fmt.Errorf("%w (%w)", perr, err)
		}
	}
	return c.removed(err)
}

// openSession opens a session on the token this Card was opened on, after
// checking with C_GetTokenInfo that it is still the one in the slot.
// Another token (another serial) returns cardreader.ErrCardChanged with
// no session opened on it, so no C_Login, C_SetPIN, C_InitPIN, signature
// or C_DestroyObject reaches it. A module answers the first call after a
// card left the slot with CKR_DEVICE_REMOVED (OpenSC) even when a card is
// back: the slot is then looked at once more, so the same card put back
// works and another card is named as such.
func (c *Card) openSession(ctx context.Context, rw bool) (pkcs11.SessionHandle, error) {
	for attempt := 0; ; attempt++ {
		sh, err := c.openSession1(ctx, rw)
		if err == nil || attempt > 0 || !errors.Is(err, cardreader.ErrCardRemoved) || ctx.Err() != nil {
			return sh, err
		}
		if si, serr := c.mod.ctx.GetSlotInfo(c.slot); serr != nil || si.Flags&pkcs11.CKF_TOKEN_PRESENT == 0 {
			return sh, err
		}
	}
}

func (c *Card) openSession1(ctx context.Context, rw bool) (pkcs11.SessionHandle, error) {
	// C_GetSlotInfo first: it is where a module looks at the reader again
	// (OpenSC: card_detect, a PC/SC status query, no APDU) and binds a
	// card that took the old one's place; C_GetTokenInfo alone may answer
	// from what the module last saw.
	_, _ = c.mod.ctx.GetSlotInfo(c.slot)
	ti, err := c.mod.ctx.GetTokenInfo(c.slot)
	if err != nil {
		return 0, c.removed(mapErr(err))
	}
	if got := tokenOf(ti); got.Serial != c.token.Serial || got.Manufacturer != c.token.Manufacturer || got.Model != c.token.Model {
		// Another token in the slot: the card this Card was opened on
		// (and the user was asked about) left.
		return 0, fmt.Errorf("token %q replaced by %q: %w", c.token.Serial, got.Serial, cardreader.ErrCardChanged)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	flags := uint(pkcs11.CKF_SERIAL_SESSION)
	if rw {
		flags |= pkcs11.CKF_RW_SESSION
	}
	sh, err := c.mod.ctx.OpenSession(c.slot, flags)
	if err != nil {
		return 0, c.removed(mapErr(err))
	}
	return sh, nil
}

// removed checks, after a failure, whether the token has left the slot: a
// module may report a pulled card as CKR_DEVICE_ERROR or
// CKR_FUNCTION_FAILED rather than CKR_DEVICE_REMOVED.
func (c *Card) removed(err error) error {
	if err == nil || errors.Is(err, cardreader.ErrCardRemoved) || rv(err) == 0 {
		return err
	}
	switch rv(err) {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED:
		return err
	}
	si, serr := c.mod.ctx.GetSlotInfo(c.slot)
	if serr != nil || si.Flags&pkcs11.CKF_TOKEN_PRESENT == 0 {
		return fmt.Errorf("%w (%w)", cardreader.ErrCardRemoved, err)
	}
	// The module may still show the token (OpenSC answers a card pulled
	// mid-APDU with CKR_GENERAL_ERROR before pcscd, which polls every
	// 400 ms, has noticed): ask PC/SC itself, waiting out that lag.
	if deviceRV(rv(err)) {
		if perr := c.pulled(); perr != nil {
			return fmt.Errorf("%w (%w)", perr, err)
		}
	}
	return err
}

// pulled asks PC/SC whether the card has left its reader (ErrCardRemoved,
// or ErrNoReader, ErrNoService), waiting out pcscd's lag; nil means it is
// still there, or the slot is not a PC/SC reader. A module may answer a
// card pulled in the middle of a read with a short or empty object list
// and no error at all.
func (c *Card) pulled() error {
	if c.reader == "" {
		return nil
	}
	return pcsc.Probe(c.reader, probeWait)
}

// deviceRV are the return values with which modules report a card that
// stopped answering, which may be a card pulled in the middle of an APDU.
func deviceRV(r uint) bool {
	switch r {
	case pkcs11.CKR_GENERAL_ERROR, pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_FUNCTION_FAILED:
		return true
	}
	return false
}

// probeWait bounds the PC/SC probe after a device error: well inside the
// 2 s in which a pulled card must give a typed error.
const probeWait = time.Second

// pinString views a secret as a string without copying it to the Go heap:
// miekg/pkcs11 takes PINs as strings and copies them into C memory for the
// call, so the only Go copy stays in the Secret, which its owner wipes.
// The string must not outlive the call it is passed to.
func pinString(s *cardreader.Secret) string {
	b := s.Bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Certificates reads every X.509 certificate object (CKO_CERTIFICATE,
// CKC_X_509) on the token, sorted by ID. Objects whose value does not
// parse as a certificate are skipped.
func (c *Card) Certificates(ctx context.Context) ([]cardreader.Certificate, error) {
	var certs []cardreader.Certificate
	err := c.do(ctx, false, func(sh pkcs11.SessionHandle) error {
		objs, err := c.find(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
			pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		})
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := ctx.Err(); err != nil {
				return err
			}
			attrs, err := c.mod.ctx.GetAttributeValue(sh, o, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
				pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
			})
			if err != nil {
				return mapErr(err)
			}
			cert, err := x509.ParseCertificate(attrs[2].Value)
			if err != nil {
				continue
			}
			certs = append(certs, cardreader.Certificate{
				ID:    hex.EncodeToString(attrs[0].Value),
				Label: string(attrs[1].Value),
				Cert:  cert,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading certificates: %w", err)
	}
	if len(certs) == 0 {
		if perr := c.pulled(); perr != nil {
			return nil, fmt.Errorf("reading certificates: none listed: %w", perr)
		}
	}
	slices.SortStableFunc(certs, func(a, b cardreader.Certificate) int { return strings.Compare(a.ID, b.ID) })
	return certs, nil
}

// find returns every object matching template.
func (c *Card) find(sh pkcs11.SessionHandle, template []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := c.mod.ctx.FindObjectsInit(sh, template); err != nil {
		return nil, mapErr(err)
	}
	var all []pkcs11.ObjectHandle
	for {
		objs, _, err := c.mod.ctx.FindObjects(sh, 64)
		if err != nil {
			_ = c.mod.ctx.FindObjectsFinal(sh)
			return nil, mapErr(err)
		}
		if len(objs) == 0 {
			break
		}
		all = append(all, objs...)
	}
	if err := c.mod.ctx.FindObjectsFinal(sh); err != nil {
		return nil, mapErr(err)
	}
	return all, nil
}

// PIN status from token flags. PKCS#11 reports no retry counter, only
// flags (PKCS#11 v2.40 §3.2 CK_TOKEN_INFO), which map onto the SITHS policy
// of three tries:
//
//	CKF_USER_PIN_LOCKED     → 0 tries, blocked
//	CKF_USER_PIN_FINAL_TRY  → 1
//	CKF_USER_PIN_COUNT_LOW  → 2 (a wrong PIN since the last good one)
//	none of them            → 3
//
// The CKF_SO_PIN_* flags map the same way for the PUK. A token whose
// counter is larger (a PIV card has 3 tries by default but may have more)
// still reads 3 until its last two tries.
//
// Some modules never set CKF_USER_PIN_COUNT_LOW: OpenSC 0.23 in front of a
// PIV card does not know the maximum tries, so it reports only FINAL_TRY
// and LOCKED. Card therefore also counts the wrong user PINs it has seen
// since the last good one (per slot and token serial, in this process) and
// reads "no flag but a wrong PIN seen" as 2 (see Card.userPINStatus).
func pinStatusFromFlags(flags uint, so bool) cardreader.PINStatus {
	locked, final, low := uint(pkcs11.CKF_USER_PIN_LOCKED), uint(pkcs11.CKF_USER_PIN_FINAL_TRY), uint(pkcs11.CKF_USER_PIN_COUNT_LOW)
	if so {
		locked, final, low = pkcs11.CKF_SO_PIN_LOCKED, pkcs11.CKF_SO_PIN_FINAL_TRY, pkcs11.CKF_SO_PIN_COUNT_LOW
	}
	switch {
	case flags&locked != 0:
		return cardreader.PINStatus{Retries: 0, Blocked: true}
	case flags&final != 0:
		return cardreader.PINStatus{Retries: 1}
	case flags&low != 0:
		return cardreader.PINStatus{Retries: 2}
	}
	return cardreader.PINStatus{Retries: 3}
}

// tokenFlags re-reads CK_TOKEN_INFO.flags (OpenSC refreshes the PIN
// counters from the card on each C_GetTokenInfo).
func (c *Card) tokenFlags() (uint, error) {
	ti, err := c.mod.ctx.GetTokenInfo(c.slot)
	if err != nil {
		return 0, mapErr(err)
	}
	return ti.Flags, nil
}

// userPINStatus is the user PIN's status from the token flags, with the
// wrong PINs this process has seen filling in a missing COUNT_LOW.
func (c *Card) userPINStatus() (cardreader.PINStatus, error) {
	f, err := c.tokenFlags()
	if err != nil {
		return cardreader.PINStatus{}, err
	}
	st := pinStatusFromFlags(f, false)
	if st.Retries == 3 && c.mod.misses(c.slot, c.token.Serial, 0) > 0 {
		st.Retries = 2
	}
	return st, nil
}

// wrongPIN records a rejected user PIN and returns it as a
// *cardreader.WrongPINError with the tries left re-read from the token.
func (c *Card) wrongPIN() error {
	c.mod.misses(c.slot, c.token.Serial, 1)
	st, err := c.userPINStatus()
	if err != nil {
		return err
	}
	return &cardreader.WrongPINError{Retries: st.Retries}
}

// goodPIN forgets the wrong PINs seen: the card has reset its counter.
func (c *Card) goodPIN() { c.mod.misses(c.slot, c.token.Serial, -1) }

// PINStatus reads the user PIN's tries left from the token flags without
// spending a try. See pinStatusFromFlags for the mapping.
func (c *Card) PINStatus(ctx context.Context) (cardreader.PINStatus, error) {
	var st cardreader.PINStatus
	err := c.do(ctx, false, func(pkcs11.SessionHandle) error {
		var err error
		st, err = c.userPINStatus()
		return err
	})
	if err != nil {
		return cardreader.PINStatus{}, fmt.Errorf("reading PIN status: %w", err)
	}
	return st, nil
}

// hasPUK decides whether the SO PIN is a PUK the holder can use; see
// PUKMode.
func (c *Card) hasPUK() bool {
	switch c.puk {
	case PUKIsSOPIN:
		return true
	case PUKNone:
		return false
	}
	return !c.mod.isOpenSC()
}

// PUKStatus reads the SO PIN's tries left from the CKF_SO_PIN_* flags, or
// returns ErrUnblockUnsupported (which wraps cardreader.ErrNoPUK) when the
// token has no usable PUK. PKCS#11 has no flag for "no SO PIN", so the
// decision is by module (Options.PUK, PUKAuto).
func (c *Card) PUKStatus(ctx context.Context) (cardreader.PINStatus, error) {
	if !c.hasPUK() {
		return cardreader.PINStatus{}, ErrUnblockUnsupported
	}
	var st cardreader.PINStatus
	err := c.do(ctx, false, func(pkcs11.SessionHandle) error {
		f, err := c.tokenFlags()
		st = pinStatusFromFlags(f, true)
		return err
	})
	if err != nil {
		return cardreader.PINStatus{}, fmt.Errorf("reading PUK status: %w", err)
	}
	return st, nil
}

// login runs C_Login and turns PIN errors into the cardreader types, with
// the tries left re-read from the token flags after the failure. userType
// CKU_SO is the PUK. A session already logged in (a login left behind by
// another application of this process) is logged out first so the PIN is
// really checked.
func (c *Card) login(sh pkcs11.SessionHandle, userType uint, pin *cardreader.Secret) error {
	so := userType == pkcs11.CKU_SO
	// A PIN or PUK that cannot be one is refused here, not sent: a module
	// answers it with CKR_DATA_INVALID, CKR_ARGUMENTS_BAD or
	// CKR_PIN_LEN_RANGE, or worse spends a try on it.
	if err := checkForm(so, pin); err != nil {
		return err
	}
	err := c.mod.ctx.Login(sh, userType, pinString(pin))
	if rv(err) == pkcs11.CKR_USER_ALREADY_LOGGED_IN && userType != pkcs11.CKU_CONTEXT_SPECIFIC {
		_ = c.mod.ctx.Logout(sh)
		err = c.mod.ctx.Login(sh, userType, pinString(pin))
	}
	if err == nil {
		if !so {
			c.goodPIN()
		}
		return nil
	}
	if ferr := formError(so, err); ferr != nil {
		// Refused by the module before reaching the card: no try spent.
		return ferr
	}
	switch rv(err) {
	case pkcs11.CKR_PIN_INCORRECT:
		if !so {
			return c.wrongPIN()
		}
		f, ferr := c.tokenFlags()
		if ferr != nil {
			return ferr
		}
		return &cardreader.WrongPUKError{Retries: pinStatusFromFlags(f, true).Retries}
	case pkcs11.CKR_PIN_LOCKED:
		if so {
			return fmt.Errorf("%w (%w)", cardreader.ErrPUKBlocked, err)
		}
		return fmt.Errorf("%w (%w)", cardreader.ErrPINBlocked, err)
	}
	return mapErr(err)
}

// VerifyPIN logs in as the user and out again. A wrong PIN returns
// *cardreader.WrongPINError with the tries left after it; a blocked PIN
// returns an error wrapping cardreader.ErrPINBlocked.
func (c *Card) VerifyPIN(ctx context.Context, pin *cardreader.Secret) error {
	p := clonePIN(pin)
	err := c.do(ctx, false, func(sh pkcs11.SessionHandle) error {
		if err := c.login(sh, pkcs11.CKU_USER, p); err != nil {
			return err
		}
		return mapErr(c.mod.ctx.Logout(sh))
	}, p)
	if err != nil {
		return fmt.Errorf("verifying PIN: %w", err)
	}
	return nil
}

// ChangePIN runs C_SetPIN in a read/write session; a module that wants the
// user logged in first (CKR_USER_NOT_LOGGED_IN) gets a login with oldPIN.
func (c *Card) ChangePIN(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error {
	if err := checkForm(false, oldPIN); err != nil {
		return fmt.Errorf("changing PIN: %w", err)
	}
	oldPIN, newPIN = clonePIN(oldPIN), clonePIN(newPIN)
	err := c.do(ctx, true, func(sh pkcs11.SessionHandle) error {
		err := c.mod.ctx.SetPIN(sh, pinString(oldPIN), pinString(newPIN))
		if rv(err) == pkcs11.CKR_USER_NOT_LOGGED_IN {
			if err := c.login(sh, pkcs11.CKU_USER, oldPIN); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			err = c.mod.ctx.SetPIN(sh, pinString(oldPIN), pinString(newPIN))
			_ = c.mod.ctx.Logout(sh)
		}
		switch rv(err) {
		case 0:
			if err == nil {
				c.goodPIN()
			}
		case pkcs11.CKR_PIN_INCORRECT:
			return c.wrongPIN()
		case pkcs11.CKR_PIN_LOCKED:
			return fmt.Errorf("%w (%w)", cardreader.ErrPINBlocked, err)
		case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID,
			pkcs11.CKR_DATA_INVALID, pkcs11.CKR_ARGUMENTS_BAD:
			// The current PIN's form was checked above: the new one.
			return fmt.Errorf("%w (%w)", ErrPINRejected, err)
		}
		return mapErr(err)
	}, oldPIN, newPIN)
	if err != nil {
		return fmt.Errorf("changing PIN: %w", err)
	}
	return nil
}

// UnblockPIN logs in as the Security Officer with puk and sets newPIN with
// C_InitPIN, which also resets the user PIN's retry counter (PKCS#11 v2.40
// §5.6). Where the token has no usable PUK, or the module refuses the SO
// login as OpenSC does in front of a PIV card (CKR_GENERAL_ERROR,
// CKR_USER_TYPE_INVALID or CKR_FUNCTION_NOT_SUPPORTED), it returns an error
// wrapping ErrUnblockUnsupported. A wrong PUK returns
// *cardreader.WrongPUKError.
func (c *Card) UnblockPIN(ctx context.Context, puk, newPIN *cardreader.Secret) error {
	if !c.hasPUK() {
		return fmt.Errorf("unblocking PIN: %w", ErrUnblockUnsupported)
	}
	puk, newPIN = clonePIN(puk), clonePIN(newPIN)
	err := c.do(ctx, true, func(sh pkcs11.SessionHandle) error {
		if err := c.login(sh, pkcs11.CKU_SO, puk); err != nil {
			switch rv(err) {
			case pkcs11.CKR_GENERAL_ERROR, pkcs11.CKR_USER_TYPE_INVALID,
				pkcs11.CKR_FUNCTION_NOT_SUPPORTED:
				return fmt.Errorf("%w (%w)", ErrUnblockUnsupported, err)
			}
			return err
		}
		defer func() { _ = c.mod.ctx.Logout(sh) }()
		if err := ctx.Err(); err != nil {
			return err
		}
		err := c.mod.ctx.InitPIN(sh, pinString(newPIN))
		if err == nil {
			c.goodPIN()
		}
		switch rv(err) {
		case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_INVALID:
			return fmt.Errorf("%w (%w)", ErrPINRejected, err)
		}
		return mapErr(err)
	}, puk, newPIN)
	if err != nil {
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	return nil
}

// Removed tells what RemoveObjects destroyed.
type Removed struct {
	Certificates, PrivateKeys, PublicKeys int
	// KeysKept is why key objects with the certificate's CKA_ID were left
	// on the token (the module refused C_DestroyObject), or nil.
	KeysKept error
}

// RemoveCertificate destroys the certificate certID and, where the module
// allows, the private and public key objects with the same CKA_ID.
func (c *Card) RemoveCertificate(ctx context.Context, certID string, auth cardreader.RemoveAuth) error {
	_, err := c.RemoveObjects(ctx, certID, auth)
	return err
}

// RemoveObjects is RemoveCertificate that also reports what it destroyed.
// It logs in with auth.PIN when one is given (private keys are only
// visible, and most tokens only writable, after login). Failing to destroy
// the certificate is an error; failing to destroy a key is reported in
// Removed.KeysKept.
func (c *Card) RemoveObjects(ctx context.Context, certID string, auth cardreader.RemoveAuth) (Removed, error) {
	var r Removed
	id, err := hex.DecodeString(certID)
	if err != nil || len(id) == 0 {
		return r, fmt.Errorf("removing certificate %q: %w", certID, cardreader.ErrCertificateNotFound)
	}
	pin := clonePIN(auth.PIN)
	err = c.do(ctx, true, func(sh pkcs11.SessionHandle) error {
		if !pin.Empty() {
			if err := c.login(sh, pkcs11.CKU_USER, pin); err != nil {
				return err
			}
			defer func() { _ = c.mod.ctx.Logout(sh) }()
		}
		certs, err := c.find(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		})
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return cardreader.ErrCertificateNotFound
		}
		for _, o := range certs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := c.mod.ctx.DestroyObject(sh, o); err != nil {
				switch rv(err) {
				case pkcs11.CKR_FUNCTION_NOT_SUPPORTED, pkcs11.CKR_ACTION_PROHIBITED,
					pkcs11.CKR_TOKEN_WRITE_PROTECTED:
					return fmt.Errorf("%w (%w)", ErrRemoveUnsupported, err)
				}
				return mapErr(err)
			}
			r.Certificates++
		}
		for _, k := range []struct {
			class uint
			n     *int
		}{{pkcs11.CKO_PRIVATE_KEY, &r.PrivateKeys}, {pkcs11.CKO_PUBLIC_KEY, &r.PublicKeys}} {
			objs, err := c.find(sh, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, k.class),
				pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			})
			if err != nil {
				return err
			}
			for _, o := range objs {
				if err := c.mod.ctx.DestroyObject(sh, o); err != nil {
					if removedRV(rv(err)) {
						return mapErr(err)
					}
					r.KeysKept = err
					continue
				}
				*k.n++
			}
		}
		return nil
	}, pin)
	if errors.Is(err, errAbandoned) {
		// fn may still be running and writing r.
		return Removed{}, fmt.Errorf("removing certificate %q: %w", certID, err)
	}
	if err != nil {
		return r, fmt.Errorf("removing certificate %q: %w", certID, err)
	}
	return r, nil
}
