package app

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
)

// loginOutcomeCard is a card that says its reader and backend only: what a
// PINOutcome and StatusRead.WithPINOutcome look at.
type loginOutcomeCard struct{ cardreader.Card }

func (loginOutcomeCard) Reader() string  { return "r" }
func (loginOutcomeCard) Backend() string { return cardreader.BackendIDPrime }

// A login reads the PIN's tries only (issue 17); its outcome says that
// count as the login's VERIFY left it, and the state it is merged into
// keeps the PUK's and the signature PIN's as it had them: neither is
// taken for a count (0, blocked, full). A login that ended with the card
// gone or silent leaves nothing known.
func TestLoginOutcomeMergesIntoTheState(t *testing.T) {
	if loginTriesOf != cardreader.TriesOfPIN {
		t.Fatalf("a login reads %b, want the PIN's count only", loginTriesOf)
	}
	oc := openCard{card: loginOutcomeCard{}, identity: cardreader.Identity{CardNumber: "9752"}}
	pin := func(n int) cardreader.PINStatus { return cardreader.PINStatus{Retries: n, Blocked: n == 0} }
	state := cardreader.Tries{PIN: pin(2), SignaturePIN: pin(1), PUK: pin(2)}
	for _, tc := range []struct {
		name string
		err  error
		pin  int
	}{
		{"a login", nil, 3},
		{"a wrong PIN", fmt.Errorf("signing the challenge: %w", &cardreader.WrongPINError{Retries: 1}), 1},
		{"the last try wrong", &cardreader.WrongPINError{Retries: 0}, 0},
		{"a blocked PIN", cardreader.ErrPINBlocked, 0},
		{"cancelled at the prompt", ErrCancelled, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := cardreader.NotRead(loginTriesOf)
			read.PIN = state.PIN
			var lo loginTries
			lo.set(oc, read, true)
			o := lo.outcome(tc.err)
			if !o.Known {
				t.Fatalf("outcome not known: %+v", o)
			}
			if o.Tries.Read() != cardreader.TriesOfPIN {
				t.Errorf("the outcome says counts %b, want the PIN's only", o.Tries.Read())
			}
			r := &StatusRead{cards: []readCard{{openCard: oc, tries: state}}}
			m, ok := r.WithPINOutcome(o)
			if !ok {
				t.Fatal("not merged")
			}
			want := state
			want.PIN = pin(tc.pin)
			if got := m.cards[0].tries; got != want {
				t.Errorf("merged %+v, want %+v", got, want)
			}
			if r.cards[0].tries != state {
				t.Error("WithPINOutcome changed the state it was given")
			}
		})
	}

	// The card went or did not answer: nothing known, the agent reads it.
	for _, err := range []error{cardreader.ErrCardRemoved, cardreader.ErrCardUnresponsive, errors.New("completing the login: 500")} {
		var lo loginTries
		lo.set(oc, cardreader.NotRead(loginTriesOf), true)
		if o := lo.outcome(err); o.Known {
			t.Errorf("%v: outcome known %+v", err, o)
		}
	}
	// A card that read no tries in one session (PKCS#11): nothing known.
	var lo loginTries
	if o := lo.outcome(nil); o.Known {
		t.Errorf("no tries read: outcome known %+v", o)
	}
}
