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
	Kind       PromptKind
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

func (oc openCard) request(kind PromptKind, retries int) PromptRequest {
	return PromptRequest{
		Kind:       kind,
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

// ChangePIN changes the PIN of the selected card. It reads the tries left
// first and refuses a blocked PIN before asking anything; it checks the new
// PIN against the policy before the current PIN is spent on the card. A
// wrong current PIN returns *cardreader.WrongPINError with the tries left;
// nothing is retried.
func (s *Service) ChangePIN(ctx context.Context, sel Selector, prompt Prompt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc, err := s.selectCard(ctx, sel)
	if err != nil {
		return err
	}
	st, err := onCard(s, ctx, oc.card.PINStatus)
	if err != nil {
		return fmt.Errorf("reading PIN tries left: %w", err)
	}
	if st.Blocked {
		return cardreader.ErrPINBlocked
	}
	old, err := prompt(ctx, oc.request(PromptPIN, st.Retries))
	if err != nil {
		return err
	}
	defer old.Wipe()
	newPIN, err := prompt(ctx, oc.request(PromptNewPIN, st.Retries))
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
	if _, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, oc.card.ChangePIN(ctx, old, newPIN)
	}); err != nil {
		s.log.Info("PIN change failed", "reader", oc.card.Reader(), "err", err)
		return err
	}
	s.log.Info("PIN changed", "reader", oc.card.Reader(), "card", oc.identity.CardNumber)
	return nil
}

// UnblockPIN resets the PIN of the selected card with its PUK and sets a
// new PIN. Cards without a PUK return cardreader.ErrNoPUK before asking
// anything; a blocked PUK returns cardreader.ErrPUKBlocked.
func (s *Service) UnblockPIN(ctx context.Context, sel Selector, prompt Prompt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc, err := s.selectCard(ctx, sel)
	if err != nil {
		return err
	}
	st, err := onCard(s, ctx, oc.card.PUKStatus)
	if err != nil {
		return fmt.Errorf("reading PUK tries left: %w", err)
	}
	if st.Blocked {
		return cardreader.ErrPUKBlocked
	}
	puk, err := prompt(ctx, oc.request(PromptPUK, st.Retries))
	if err != nil {
		return err
	}
	defer puk.Wipe()
	if err := cardreader.CheckPUKFormat(puk); err != nil {
		return err
	}
	newPIN, err := prompt(ctx, oc.request(PromptNewPIN, -1))
	if err != nil {
		return err
	}
	defer newPIN.Wipe()
	if err := cardreader.CheckPINPolicy(newPIN, oc.birthDate()); err != nil {
		return err
	}
	if _, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, oc.card.UnblockPIN(ctx, puk, newPIN)
	}); err != nil {
		s.log.Info("PIN unblock failed", "reader", oc.card.Reader(), "err", err)
		return err
	}
	s.log.Info("PIN unblocked", "reader", oc.card.Reader(), "card", oc.identity.CardNumber)
	return nil
}
