package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// them once, with no APDU): every count, or those a ctx marked
// cardreader.WithTriesOf names (the others cardreader.ErrTriesNotRead).
// ok is false for a card that cannot: its PINStatus/PUKStatus are asked
// then.
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
	_, err := s.ChangePINOutcome(ctx, sel, pin, prompt)
	return err
}

// ChangePINOutcome is ChangePIN, also returning what the change left on
// the card's tries (PINOutcome): the agent keeps it instead of reading the
// card again.
func (s *Service) ChangePINOutcome(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) (PINOutcome, error) {
	ref, err := CheckPINRef(pin)
	if err != nil {
		return PINOutcome{}, err
	}
	out, err := s.changePIN(ctx, sel, ref, prompt)
	return out, WrapPINError(ref, err)
}

// UnblockPIN resets a PIN of the selected card (chosen as in ChangePIN)
// with its PUK and sets a new PIN. Cards without a PUK return
// cardreader.ErrNoPUK before asking anything; a blocked PUK returns
// cardreader.ErrPUKBlocked.
func (s *Service) UnblockPIN(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) error {
	_, err := s.UnblockPINOutcome(ctx, sel, pin, prompt)
	return err
}

// UnblockPINOutcome is UnblockPIN, also returning what the unblock left
// on the card's tries (PINOutcome).
func (s *Service) UnblockPINOutcome(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) (PINOutcome, error) {
	ref, err := CheckPINRef(pin)
	if err != nil {
		return PINOutcome{}, err
	}
	out, err := s.unblockPIN(ctx, sel, ref, prompt)
	return out, WrapPINError(ref, err)
}

// PINOutcome is what a PIN change or unblock learnt of the card's tries
// from the card's own answers, with no APDU of its own: the tries read
// before the prompt, then the operation's result (a change or unblock
// the card took sets that PIN, and for an unblock the PUK, back to a full
// count; a refusal tells the tries left, 63Cx, or blocked, 6983). The
// first phase reads only the counts its prompt needs (issue 17: a change
// the PIN's, an unblock the PUK's), so Tries holds those and what the
// command set; the others are cardreader.ErrTriesNotRead (Tries.Read says
// which are known) and the state the operation began with holds them
// (StatusRead.WithPINOutcome). Known is false when the operation cannot
// tell: a card that reads no tries in one session (PKCS#11), a first phase
// that failed, a card that changed, went or did not answer. The agent
// keeps a known outcome as the card's state (StatusRead.WithPINOutcome)
// instead of reading the card again.
type PINOutcome struct {
	Reader, CardNumber string
	Tries              cardreader.Tries
	Known              bool
}

// fullTries is a PIN's or the PUK's count once reset: SITHS cards block
// after three wrong tries (docs/DESIGN: PIN and PUK). A card that said
// more before the operation keeps at least what it said.
const fullTries = 3

// pinPhase is what a PIN operation's first card phase found: the card,
// its operations on the PIN, the tries the prompt shows (the PIN's for a
// change, the PUK's for an unblock) and, from a card that reads its
// tries in one session, the counts that session read (for the
// PINOutcome; the others cardreader.ErrTriesNotRead).
type pinPhase struct {
	oc    openCard
	ops   pinOps
	st    cardreader.PINStatus
	tries cardreader.Tries
	read  bool // tries holds what the card said of the counts it read
}

// triesFor is the counts the first phase of a change (puk false) or an
// unblock (puk true) of ref reads: the prompt's (the PIN's for a change,
// the PUK's for an unblock), and for an unblock of the signature PIN that
// PIN's, which says whether the card has one before the PUK is asked. A
// blocked PIN's refusal needs no PUK count (nothing says it), nor does
// the change: the agent's state keeps the counts not read (issue 17:
// SELECT and one read, an APDU less than reading every count).
func triesFor(ref cardreader.PINRef, puk bool) cardreader.TriesOf {
	switch {
	case puk && ref == cardreader.PINSignature:
		return cardreader.TriesOfPUK | cardreader.TriesOfSignaturePIN
	case puk:
		return cardreader.TriesOfPUK
	case ref == cardreader.PINSignature:
		return cardreader.TriesOfSignaturePIN
	}
	return cardreader.TriesOfPIN
}

// firstPINPhase is the first card phase of a PIN change (puk false) or
// unblock (puk true), under the service lock, before any prompt: the card
// sel names, and the tries left of the counts triesFor names, from the
// session that opened the card where it offers them
// (cardreader.TriesReader, no APDU), else asked. A card without the
// signature PIN says so before the PUK is asked.
func (s *Service) firstPINPhase(ctx context.Context, sel Selector, ref cardreader.PINRef, puk bool) (ph pinPhase, err error) {
	what := "PIN"
	if puk {
		what = "PUK"
	}
	ctx = cardreader.WithTriesOf(ctx, triesFor(ref, puk))
	err = s.locked(func() (err error) {
		if ph.oc, err = s.selectCard(ctx, sel); err != nil {
			return err
		}
		if ph.ops, err = pinOpsOf(ph.oc.card, ref); err != nil {
			return err
		}
		t, ok, err := prefetchedTries(s, ctx, ph.oc.card)
		switch {
		case err != nil:
		case ok && !puk:
			ph.tries, ph.read = t, true
			ph.st, err = t.PIN, t.PINErr
			if ref == cardreader.PINSignature {
				ph.st, err = t.SignaturePIN, t.SignaturePINErr
			}
		case ok:
			ph.tries, ph.read = t, true
			if ref == cardreader.PINSignature && errors.Is(t.SignaturePINErr, cardreader.ErrNoSignaturePIN) {
				return t.SignaturePINErr
			}
			ph.st, err = t.PUK, t.PUKErr
		case !puk:
			ph.st, err = onCard(s, ctx, ph.ops.status)
		default:
			if ref == cardreader.PINSignature {
				if _, err := onCard(s, ctx, ph.ops.status); errors.Is(err, cardreader.ErrNoSignaturePIN) {
					return err
				}
			}
			ph.st, err = onCard(s, ctx, ph.oc.card.PUKStatus)
		}
		if err != nil {
			return fmt.Errorf("reading %s tries left: %w", what, err)
		}
		return nil
	})
	return ph, err
}

// request is the prompt's request for ref on ph's card.
func (ph pinPhase) request(kind PromptKind, ref cardreader.PINRef, retries int) PromptRequest {
	r := ph.oc.request(kind, retries)
	r.PIN = ref
	return r
}

// outcome is what the operation leaves known of the card's tries: what
// the first phase read, then, when the card got the command (sent), its
// answer err. The count of the PIN (and, unblocking, the PUK) after a
// success is full (the PIN's read or not: the card reset it); after a
// refusal, what the card said. Counts the first phase did not read and
// the command did not set stay cardreader.ErrTriesNotRead.
func (ph pinPhase) outcome(ref cardreader.PINRef, unblock, sent bool, err error) PINOutcome {
	o := PINOutcome{Reader: ph.oc.card.Reader(), CardNumber: ph.oc.identity.CardNumber, Tries: ph.tries, Known: ph.read}
	if !sent || !o.Known {
		return o
	}
	pin, pinErr := &o.Tries.PIN, &o.Tries.PINErr
	if ref == cardreader.PINSignature {
		pin, pinErr = &o.Tries.SignaturePIN, &o.Tries.SignaturePINErr
	}
	// A count not read is no count: it sets no floor.
	floor := func(st cardreader.PINStatus, err error) int {
		if err != nil {
			return fullTries
		}
		return max(st.Retries, fullTries)
	}
	var wrongPIN *cardreader.WrongPINError
	var wrongPUK *cardreader.WrongPUKError
	switch {
	case err == nil:
		*pin, *pinErr = cardreader.PINStatus{Retries: floor(*pin, *pinErr)}, nil
		if unblock {
			o.Tries.PUK, o.Tries.PUKErr = cardreader.PINStatus{Retries: floor(o.Tries.PUK, o.Tries.PUKErr)}, nil
		}
	case unblock && errors.As(err, &wrongPUK):
		o.Tries.PUK, o.Tries.PUKErr = cardreader.PINStatus{Retries: wrongPUK.Retries, Blocked: wrongPUK.Retries == 0}, nil
	case unblock && errors.Is(err, cardreader.ErrPUKBlocked):
		o.Tries.PUK, o.Tries.PUKErr = cardreader.PINStatus{Retries: 0, Blocked: true}, nil
	case !unblock && errors.As(err, &wrongPIN):
		*pin, *pinErr = cardreader.PINStatus{Retries: wrongPIN.Retries, Blocked: wrongPIN.Retries == 0}, nil
	case !unblock && errors.Is(err, cardreader.ErrPINBlocked):
		*pin, *pinErr = cardreader.PINStatus{Retries: 0, Blocked: true}, nil
	default:
		o.Known = false // the card changed, went or did not answer: read it
	}
	return o
}

func (s *Service) changePIN(ctx context.Context, sel Selector, ref cardreader.PINRef, prompt Prompt) (PINOutcome, error) {
	// The service lock is held for the card phases only, never while the
	// user types; the change goes to the card selected here and no other
	// (cardreader.ErrCardChanged).
	ph, err := s.firstPINPhase(ctx, sel, ref, false)
	if err != nil {
		return PINOutcome{}, err
	}
	out := ph.outcome(ref, false, false, nil)
	if ph.st.Blocked {
		return out, cardreader.ErrPINBlocked
	}
	old, err := prompt(ctx, ph.request(PromptPIN, ref, ph.st.Retries))
	if err != nil {
		return out, err
	}
	defer old.Wipe()
	// A current PIN that cannot be a PIN (4 digits, letters) is said to
	// be so before the new PIN is asked and before a try is spent; the
	// new PIN's policy must not take the blame for it.
	if err := cardreader.CheckPINFormat(old); err != nil {
		return out, err
	}
	newPIN, err := prompt(ctx, ph.request(PromptNewPIN, ref, ph.st.Retries))
	if err != nil {
		return out, err
	}
	defer newPIN.Wipe()
	if err := cardreader.CheckPINPolicy(newPIN, ph.oc.birthDate()); err != nil {
		return out, err
	}
	if newPIN.Equal(old) {
		return out, ErrSamePIN
	}
	return s.secondPINPhase(ctx, ph, ref, false, func(ctx context.Context) error { return ph.ops.change(ctx, old, newPIN) })
}

func (s *Service) unblockPIN(ctx context.Context, sel Selector, ref cardreader.PINRef, prompt Prompt) (PINOutcome, error) {
	// As in changePIN: the lock for the card phases only, the PUK to the
	// card selected here and no other.
	ph, err := s.firstPINPhase(ctx, sel, ref, true)
	if err != nil {
		return PINOutcome{}, err
	}
	out := ph.outcome(ref, true, false, nil)
	if ph.st.Blocked {
		return out, cardreader.ErrPUKBlocked
	}
	puk, err := prompt(ctx, ph.request(PromptPUK, ref, ph.st.Retries))
	if err != nil {
		return out, err
	}
	defer puk.Wipe()
	if err := cardreader.CheckPUKFormat(puk); err != nil {
		return out, err
	}
	newPIN, err := prompt(ctx, ph.request(PromptNewPIN, ref, -1))
	if err != nil {
		return out, err
	}
	defer newPIN.Wipe()
	if err := cardreader.CheckPINPolicy(newPIN, ph.oc.birthDate()); err != nil {
		return out, err
	}
	return s.secondPINPhase(ctx, ph, ref, true, func(ctx context.Context) error { return ph.ops.unblock(ctx, puk, newPIN) })
}

// secondPINPhase sends the change or the unblock (send) to the card the
// first phase selected and no other, under the service lock, after the
// person typed; it returns what the card's answer leaves known of its
// tries. A command whose answer was lost is "outcome unknown".
func (s *Service) secondPINPhase(ctx context.Context, ph pinPhase, ref cardreader.PINRef, unblock bool, send func(context.Context) error) (PINOutcome, error) {
	what, unknown, done := "PIN change", ErrPINChangeOutcomeUnknown, "PIN changed"
	if unblock {
		what, unknown, done = "PIN unblock", ErrPINUnblockOutcomeUnknown, "PIN unblocked"
	}
	err := s.locked(func() error {
		_, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, withOutcome(unknown, ph.oc.card, send(ctx))
		})
		return err
	})
	if err != nil {
		s.log.Info(what+" failed", "reader", ph.oc.card.Reader(), "pin", ref, "err", err)
	} else {
		s.log.Info(done, "reader", ph.oc.card.Reader(), "card", ph.oc.identity.CardNumber, "pin", ref)
	}
	return ph.outcome(ref, unblock, true, err), err
}

// WithPINOutcome is r with the tries of o's card (same reader, same card
// number) replaced by those o knows (cardreader.Tries.Over): the counts
// the operation did not read and did not set stay as r has them, so r
// must have been current as the operation began (the agent checks). No
// APDU; ok is false when o is not known or r holds no such card. r itself
// is not changed.
func (r *StatusRead) WithPINOutcome(o PINOutcome) (_ *StatusRead, ok bool) {
	if r == nil || !o.Known {
		return nil, false
	}
	for i, c := range r.cards {
		if c.card.Reader() == o.Reader && c.identity.CardNumber == o.CardNumber && c.idErr == nil {
			n := *r
			n.cards = slices.Clone(r.cards)
			n.cards[i].tries = o.Tries.Over(c.tries)
			return &n, true
		}
	}
	return nil, false
}
