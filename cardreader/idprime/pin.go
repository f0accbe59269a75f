package idprime

import (
	"context"
	"errors"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
)

// checkPINFormat refuses, before the card sees it, a PIN no SITHS card
// accepts (6–8 digits): sending it would only spend a try.
func checkPINFormat(pin *cardreader.Secret) error {
	b := pin.Bytes()
	if len(b) < cardreader.MinPINLength {
		return &cardreader.PINPolicyError{Reason: cardreader.PINTooShort}
	}
	if len(b) > cardreader.MaxPINLength {
		return &cardreader.PINPolicyError{Reason: cardreader.PINTooLong}
	}
	for _, x := range b {
		if x < '0' || x > '9' {
			return &cardreader.PINPolicyError{Reason: cardreader.PINNotDigits}
		}
	}
	return nil
}

// noReference turns errNoReference into what it means for ref.
func noReference(err error, ref byte) error {
	if !errors.Is(err, errNoReference) {
		return err
	}
	switch ref {
	case refSignaturePIN:
		return cardreader.ErrNoSignaturePIN
	case refPUK:
		return cardreader.ErrNoPUK
	}
	return &swError{swRefNotFound}
}

// status reads the tries left of ref with an empty VERIFY. Two APDUs.
func (c *Card) status(ctx context.Context, ref byte) (cardreader.PINStatus, error) {
	var st cardreader.PINStatus
	err := c.do(ctx, func(s *session) error {
		var err error
		st, err = s.tries(ref)
		return noReference(err, ref)
	})
	return st, err
}

// PINStatus reads the identification PIN's tries left (empty VERIFY of
// 0x11; nothing spent). Retries is -1 when the PIN is verified on the card
// right now (the card answers 9000 without a count). Two APDUs.
func (c *Card) PINStatus(ctx context.Context) (cardreader.PINStatus, error) {
	st, err := c.status(ctx, refPIN)
	if err != nil {
		return st, fmt.Errorf("reading PIN tries: %w", err)
	}
	return st, nil
}

// SignaturePINStatus reads the signature PIN's tries left (empty VERIFY of
// 0x83), or returns ErrNoSignaturePIN when the card answers 6A88: it has
// none. Two APDUs.
func (c *Card) SignaturePINStatus(ctx context.Context) (cardreader.PINStatus, error) {
	st, err := c.status(ctx, refSignaturePIN)
	if err != nil {
		return st, fmt.Errorf("reading signature PIN tries: %w", err)
	}
	return st, nil
}

// PUKStatus reads the PUK's tries left with an empty VERIFY of its
// reference (refPUK, not public: chosen), or returns ErrNoPUK when the card
// has no such reference. Two APDUs.
func (c *Card) PUKStatus(ctx context.Context) (cardreader.PINStatus, error) {
	st, err := c.status(ctx, refPUK)
	if err != nil {
		return st, fmt.Errorf("reading PUK tries: %w", err)
	}
	return st, nil
}

// checkTries refuses a blocked PIN before anything is presented, and
// turns 6A88 into the reference's error. The read spends nothing.
func (s *session) checkTries(ref byte) error {
	st, err := s.tries(ref)
	if err != nil {
		return noReference(err, ref)
	}
	if st.Blocked {
		if ref == refPUK {
			return cardreader.ErrPUKBlocked
		}
		return cardreader.ErrPINBlocked
	}
	return nil
}

// verify presents pin for ref (VERIFY 00 20 00 ref 10 <pad16>).
func (s *session) verify(ref byte, pin *cardreader.Secret) error {
	code, err := s.pinCommand(insVerify, ref, pin)
	if err != nil {
		return err
	}
	return noReference(pinErr(code, false), ref)
}

// VerifyPIN checks the identification PIN. The tries are read first, so a
// blocked PIN is refused without presenting it. Three APDUs.
func (c *Card) VerifyPIN(ctx context.Context, pin *cardreader.Secret) error {
	if err := checkPINFormat(pin); err != nil {
		return err
	}
	err := c.doPIN(ctx, func(s *session) error {
		if err := s.checkTries(refPIN); err != nil {
			return err
		}
		return s.verify(refPIN, pin)
	})
	if err != nil {
		return fmt.Errorf("verifying PIN: %w", err)
	}
	return nil
}

// change replaces ref's value (CHANGE REFERENCE DATA 00 24 00 ref 20
// <old pad16><new pad16>). Two APDUs: SELECT and the change. The tries
// are not read again: the caller read them before asking for the PIN,
// and the card refuses a blocked PIN itself (6983, nothing spent), a
// missing reference with 6A88.
func (c *Card) change(ctx context.Context, ref byte, oldPIN, newPIN *cardreader.Secret) error {
	if err := checkPINFormat(oldPIN); err != nil {
		return err
	}
	if err := checkPINFormat(newPIN); err != nil {
		return err
	}
	return c.doPIN(ctx, func(s *session) error {
		code, err := s.pinCommand(insChangeRef, ref, oldPIN, newPIN)
		if err != nil {
			return err
		}
		return noReference(pinErr(code, false), ref)
	})
}

// ChangePIN replaces the identification PIN. No PIN policy: callers check
// cardreader.CheckPINPolicy first. Three APDUs.
func (c *Card) ChangePIN(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error {
	if err := c.change(ctx, refPIN, oldPIN, newPIN); err != nil {
		return fmt.Errorf("changing PIN: %w", err)
	}
	return nil
}

// ChangeSignaturePIN replaces the signature PIN, or returns
// ErrNoSignaturePIN. Three APDUs.
func (c *Card) ChangeSignaturePIN(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error {
	if err := c.change(ctx, refSignaturePIN, oldPIN, newPIN); err != nil {
		return fmt.Errorf("changing signature PIN: %w", err)
	}
	return nil
}

// unblock sets a new value for ref with the PUK (RESET RETRY COUNTER
// 00 2C 00 ref 20 <PUK pad16><new pad16>, the form OpenSC's
// user_pin_unblock_style sends; whether a real 940 takes it is not
// public). The PUK's tries are read first: a blocked PUK is refused without
// presenting it, and a card without the PUK reference gives ErrNoPUK.
func (c *Card) unblock(ctx context.Context, ref byte, puk, newPIN *cardreader.Secret) error {
	if err := cardreader.CheckPUKFormat(puk); err != nil {
		return err
	}
	if err := checkPINFormat(newPIN); err != nil {
		return err
	}
	return c.doPIN(ctx, func(s *session) error {
		if ref != refPIN && !c.signaturePIN.Load() {
			// The card must have the PIN before a PUK is spent on it:
			// asked, unless the session that opened this Card read its
			// tries (the card is the same: doPIN checked the binding).
			if _, err := s.tries(ref); err != nil {
				return noReference(err, ref)
			}
		}
		// The PUK's tries are not read again (the caller read them before
		// asking for the PUK): the card refuses a blocked PUK itself
		// (6983) and answers 6A88 when it has none.
		code, err := s.pinCommand(insResetRetry, ref, puk, newPIN)
		if err != nil {
			return err
		}
		return noReference(pinErr(code, true), refPUK)
	})
}

// UnblockPIN resets the identification PIN's tries with the PUK and sets
// newPIN. Three APDUs.
func (c *Card) UnblockPIN(ctx context.Context, puk, newPIN *cardreader.Secret) error {
	if err := c.unblock(ctx, refPIN, puk, newPIN); err != nil {
		return fmt.Errorf("unblocking PIN: %w", err)
	}
	return nil
}

// UnblockSignaturePIN resets the signature PIN's tries with the PUK and
// sets newPIN, or returns ErrNoSignaturePIN. Four APDUs, three when the
// session that opened this Card read the signature PIN's tries.
func (c *Card) UnblockSignaturePIN(ctx context.Context, puk, newPIN *cardreader.Secret) error {
	if err := c.unblock(ctx, refSignaturePIN, puk, newPIN); err != nil {
		return fmt.Errorf("unblocking signature PIN: %w", err)
	}
	return nil
}
