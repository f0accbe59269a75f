package app

import (
	"errors"
	"fmt"

	"github.com/sithseid/sithseid/cardreader"
)

// ErrOutcomeUnknown: the card was pulled (or stopped answering) after it
// got the command that changes it, so whether the change took effect is
// not known. The errors that say which change it was match it, and match
// cardreader.ErrCardRemoved too, so code that only knows removals still
// sees one.
var ErrOutcomeUnknown = errors.New("the card was lost after the command was sent: the outcome is not known")

// The operations whose outcome can be unknown. Each matches
// ErrOutcomeUnknown and cardreader.ErrCardRemoved.
var (
	ErrPINChangeOutcomeUnknown  error = &outcomeUnknown{"PIN change"}
	ErrPINUnblockOutcomeUnknown error = &outcomeUnknown{"PIN unblock"}
	ErrRemovalOutcomeUnknown    error = &outcomeUnknown{"certificate removal"}
)

type outcomeUnknown struct{ op string }

func (e *outcomeUnknown) Error() string {
	return "the card was lost during the " + e.op + ": it is not known whether it took effect"
}

func (e *outcomeUnknown) Is(target error) bool {
	return target == ErrOutcomeUnknown || target == cardreader.ErrCardRemoved
}

// withOutcome wraps err, the error of the one call that changes card c,
// as op (one of the errors above) when the change may have happened: the
// backend says the command went out and no answer came
// (cardreader.ErrNoAnswer), or a PKCS#11 backend, which cannot tell,
// reports the card removed or unresponsive.
func withOutcome(op error, c cardreader.Card, err error) error {
	if err == nil || errors.Is(err, ErrOutcomeUnknown) {
		return err
	}
	lost := errors.Is(err, cardreader.ErrCardRemoved) || errors.Is(err, cardreader.ErrCardUnresponsive)
	if errors.Is(err, cardreader.ErrNoAnswer) || lost && c.Backend() == cardreader.BackendPKCS11 {
		return fmt.Errorf("%w: %w", op, err)
	}
	return err
}
