package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// PromptKind says what a prompt asks for.
type PromptKind int

const (
	PromptPIN    PromptKind = iota // the current PIN
	PromptNewPIN                   // a new PIN (the prompt confirms it where it can)
	PromptPUK                      // the PUK
)

// PromptRequest is what a prompt shows: what to type, for which card, and
// how many tries are left before the attempt (shown before, never after).
type PromptRequest struct {
	Kind PromptKind
	// PIN is the PIN the prompt is about: the current one (PromptPIN),
	// the new one (PromptNewPIN) or the one the PUK unblocks (PromptPUK).
	// Login and mutual TLS always ask for cardreader.PINIdentification.
	PIN        cardreader.PINRef
	Retries    int // -1 when the card does not say
	Holder     string
	HSAID      string
	CardNumber string
}

// Prompt asks the user for a PIN or PUK. The ui fills it with a dialog,
// the CLI with the terminal or standard input, tests with a closure. The
// caller of Prompt owns the returned secret and wipes it.
type Prompt func(ctx context.Context, req PromptRequest) (*cardreader.Secret, error)

// ErrCancelled is returned when the user cancels a prompt.
var ErrCancelled = errors.New("cancelled by the user")

// ErrSamePIN: the new PIN equals the current one.
var ErrSamePIN = errors.New("the new PIN is the same as the current PIN")

// ErrUnknownPIN: a PIN reference other than cardreader.PINIdentification
// or cardreader.PINSignature.
var ErrUnknownPIN = errors.New("unknown PIN reference")

// PINError is a failed operation on a card's signature PIN. It unwraps to
// the card's error (*cardreader.WrongPINError, cardreader.ErrPINBlocked,
// cardreader.ErrNoSignaturePIN, …), so callers test it as usual; the PIN
// lets the ui and the CLI say "underskriftskod" instead of "PIN-kod".
// Operations on the identification PIN return their errors unwrapped.
type PINError struct {
	PIN cardreader.PINRef
	Err error
}

func (e *PINError) Error() string { return string(e.PIN) + " PIN: " + e.Err.Error() }
func (e *PINError) Unwrap() error { return e.Err }

// CheckPINRef returns the PIN ref names, "" meaning the identification PIN,
// or ErrUnknownPIN.
func CheckPINRef(ref cardreader.PINRef) (cardreader.PINRef, error) {
	switch ref {
	case "", cardreader.PINIdentification:
		return cardreader.PINIdentification, nil
	case cardreader.PINSignature:
		return ref, nil
	}
	return "", fmt.Errorf("%q: %w", string(ref), ErrUnknownPIN)
}

// WrapPINError wraps err as a *PINError when ref is the signature PIN.
func WrapPINError(ref cardreader.PINRef, err error) error {
	if err == nil || ref != cardreader.PINSignature {
		return err
	}
	var pe *PINError
	if errors.As(err, &pe) {
		return err
	}
	return &PINError{PIN: ref, Err: err}
}

// pinOps are the card's operations on one of its PINs.
type pinOps struct {
	ref     cardreader.PINRef
	status  func(context.Context) (cardreader.PINStatus, error)
	change  func(ctx context.Context, oldPIN, newPIN *cardreader.Secret) error
	unblock func(ctx context.Context, puk, newPIN *cardreader.Secret) error
}

// pinOpsOf returns c's operations on the PIN ref (already checked): a
// card that cannot have a signature PIN has none.
func pinOpsOf(c cardreader.Card, ref cardreader.PINRef) (pinOps, error) {
	if ref != cardreader.PINSignature {
		return pinOps{ref: cardreader.PINIdentification, status: c.PINStatus, change: c.ChangePIN, unblock: c.UnblockPIN}, nil
	}
	sc, ok := c.(cardreader.SignaturePINCard)
	if !ok {
		return pinOps{}, cardreader.ErrNoSignaturePIN
	}
	return pinOps{ref: ref, status: sc.SignaturePINStatus, change: sc.ChangeSignaturePIN, unblock: sc.UnblockSignaturePIN}, nil
}

// prefetchedTries are the tries a card's opening session read (the card
// was opened by selectCard a moment ago; cardreader.TriesReader answers
// them once, with no APDU). ok is false for a card that cannot: its
// PINStatus/PUKStatus are asked then.
func prefetchedTries(s *Service, ctx context.Context, c cardreader.Card) (t cardreader.Tries, ok bool, err error) {
	tr, is := c.(cardreader.TriesReader)
	if !is {
		return t, false, nil
	}
	t, err = onCard(s, ctx, tr.Tries)
	return t, err == nil, err
}

// pinTries is ops' PIN's tries left: from the opening session's read when
// the card offers it (no APDU), else asked.
func pinTries(s *Service, ctx context.Context, c cardreader.Card, ops pinOps) (cardreader.PINStatus, error) {
	t, ok, err := prefetchedTries(s, ctx, c)
	switch {
	case err != nil:
		return cardreader.PINStatus{}, err
	case !ok:
		return onCard(s, ctx, ops.status)
	case ops.ref == cardreader.PINSignature:
		return t.SignaturePIN, t.SignaturePINErr
	}
	return t.PIN, t.PINErr
}

func (oc openCard) request(kind PromptKind, retries int) PromptRequest {
	return PromptRequest{
		Kind:       kind,
		PIN:        cardreader.PINIdentification,
		Retries:    retries,
		Holder:     oc.identity.Holder.Name,
		HSAID:      oc.identity.HSAID,
		CardNumber: oc.identity.CardNumber,
	}
}

func (oc openCard) birthDate() time.Time {
	d, _ := oc.identity.PersonalNumber.BirthDate()
	return d
}

// ChangePIN changes a PIN of the selected card: the identification PIN
// (pin "" or cardreader.PINIdentification), or the signature PIN
// (cardreader.PINSignature) of a card that has one, else
// cardreader.ErrNoSignaturePIN. It reads the tries left first and refuses
// a blocked PIN before asking anything; it checks the new PIN against the
// policy before the current PIN is spent on the card. A current PIN that
// is not 6–8 digits returns *cardreader.PINPolicyError with Reason
// cardreader.PINWrongForm before the new PIN is asked. A wrong current PIN
// returns *cardreader.WrongPINError with the tries left; nothing is
// retried. Errors about the signature PIN come wrapped in *PINError.
func (s *Service) ChangePIN(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) error {
	ref, err := CheckPINRef(pin)
	if err != nil {
		return err
	}
	return WrapPINError(ref, s.changePIN(ctx, sel, ref, prompt))
}

func (s *Service) changePIN(ctx context.Context, sel Selector, ref cardreader.PINRef, prompt Prompt) error {
	// The service lock is held for the card phases only, never while the
	// user types; the change goes to the card selected here and no other
	// (cardreader.ErrCardChanged).
	var (
		oc  openCard
		ops pinOps
		st  cardreader.PINStatus
	)
	if err := s.locked(func() (err error) {
		if oc, err = s.selectCard(ctx, sel); err != nil {
			return err
		}
		if ops, err = pinOpsOf(oc.card, ref); err != nil {
			return err
		}
		if st, err = pinTries(s, ctx, oc.card, ops); err != nil {
			return fmt.Errorf("reading PIN tries left: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}
	if st.Blocked {
		return cardreader.ErrPINBlocked
	}
	req := func(kind PromptKind) PromptRequest {
		r := oc.request(kind, st.Retries)
		r.PIN = ref
		return r
	}
	old, err := prompt(ctx, req(PromptPIN))
	if err != nil {
		return err
	}
	defer old.Wipe()
	// A current PIN that cannot be a PIN (4 digits, letters) is said to
	// be so before the new PIN is asked and before a try is spent; the
	// new PIN's policy must not take the blame for it.
	if err := cardreader.CheckPINFormat(old); err != nil {
		return err
	}
	newPIN, err := prompt(ctx, req(PromptNewPIN))
	if err != nil {
		return err
	}
	defer newPIN.Wipe()
	if err := cardreader.CheckPINPolicy(newPIN, oc.birthDate()); err != nil {
		return err
	}
	if newPIN.Equal(old) {
		return ErrSamePIN
	}
	if err := s.locked(func() error {
		_, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, withOutcome(ErrPINChangeOutcomeUnknown, oc.card, ops.change(ctx, old, newPIN))
		})
		return err
	}); err != nil {
		s.log.Info("PIN change failed", "reader", oc.card.Reader(), "pin", ref, "err", err)
		return err
	}
	s.log.Info("PIN changed", "reader", oc.card.Reader(), "card", oc.identity.CardNumber, "pin", ref)
	return nil
}

// UnblockPIN resets a PIN of the selected card (chosen as in ChangePIN)
// with its PUK and sets a new PIN. Cards without a PUK return
// cardreader.ErrNoPUK before asking anything; a blocked PUK returns
// cardreader.ErrPUKBlocked.
func (s *Service) UnblockPIN(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) error {
	ref, err := CheckPINRef(pin)
	if err != nil {
		return err
	}
	return WrapPINError(ref, s.unblockPIN(ctx, sel, ref, prompt))
}

func (s *Service) unblockPIN(ctx context.Context, sel Selector, ref cardreader.PINRef, prompt Prompt) error {
	// As in changePIN: the lock for the card phases only, the PUK to the
	// card selected here and no other.
	var (
		oc  openCard
		ops pinOps
		st  cardreader.PINStatus
	)
	if err := s.locked(func() (err error) {
		if oc, err = s.selectCard(ctx, sel); err != nil {
			return err
		}
		if ops, err = pinOpsOf(oc.card, ref); err != nil {
			return err
		}
		if t, ok, err := prefetchedTries(s, ctx, oc.card); ok || err != nil {
			// What the session that opened the card read, no APDU.
			if err != nil {
				return fmt.Errorf("reading PUK tries left: %w", err)
			}
			if ref == cardreader.PINSignature && errors.Is(t.SignaturePINErr, cardreader.ErrNoSignaturePIN) {
				return t.SignaturePINErr
			}
			if st, err = t.PUK, t.PUKErr; err != nil {
				return fmt.Errorf("reading PUK tries left: %w", err)
			}
			return nil
		}
		if ref == cardreader.PINSignature {
			// A card without a signature PIN says so before the PUK is asked.
			if _, err := onCard(s, ctx, ops.status); errors.Is(err, cardreader.ErrNoSignaturePIN) {
				return err
			}
		}
		if st, err = onCard(s, ctx, oc.card.PUKStatus); err != nil {
			return fmt.Errorf("reading PUK tries left: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}
	if st.Blocked {
		return cardreader.ErrPUKBlocked
	}
	req := func(kind PromptKind, retries int) PromptRequest {
		r := oc.request(kind, retries)
		r.PIN = ref
		return r
	}
	puk, err := prompt(ctx, req(PromptPUK, st.Retries))
	if err != nil {
		return err
	}
	defer puk.Wipe()
	if err := cardreader.CheckPUKFormat(puk); err != nil {
		return err
	}
	newPIN, err := prompt(ctx, req(PromptNewPIN, -1))
	if err != nil {
		return err
	}
	defer newPIN.Wipe()
	if err := cardreader.CheckPINPolicy(newPIN, oc.birthDate()); err != nil {
		return err
	}
	if err := s.locked(func() error {
		_, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, withOutcome(ErrPINUnblockOutcomeUnknown, oc.card, ops.unblock(ctx, puk, newPIN))
		})
		return err
	}); err != nil {
		s.log.Info("PIN unblock failed", "reader", oc.card.Reader(), "pin", ref, "err", err)
		return err
	}
	s.log.Info("PIN unblocked", "reader", oc.card.Reader(), "card", oc.identity.CardNumber, "pin", ref)
	return nil
}
