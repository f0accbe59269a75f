package app

import (
	"errors"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
)

// outcomeCard is a card that says its reader and backend only: what a
// PINOutcome and StatusRead.WithPINOutcome look at.
type outcomeCard struct{ cardreader.Card }

func (outcomeCard) Reader() string  { return "r" }
func (outcomeCard) Backend() string { return cardreader.BackendIDPrime }

// A PIN operation's first phase reads only the counts its prompt needs
// (issue 17); its outcome says those and what the command set, and the
// state it is merged into keeps the others as it had them: no count the
// operation did not read or set is taken for a count (0, blocked, full),
// and a count the state never knew stays unknown.
func TestPINOutcomeMergesIntoTheState(t *testing.T) {
	oc := openCard{card: outcomeCard{}, identity: cardreader.Identity{CardNumber: "9752"}}
	read := func(which cardreader.TriesOf, st map[cardreader.TriesOf]cardreader.PINStatus) cardreader.Tries {
		tr := cardreader.NotRead(which)
		tr.PIN, tr.SignaturePIN, tr.PUK = st[cardreader.TriesOfPIN], st[cardreader.TriesOfSignaturePIN], st[cardreader.TriesOfPUK]
		return tr
	}
	pin := func(n int) cardreader.PINStatus { return cardreader.PINStatus{Retries: n, Blocked: n == 0} }
	failed := errors.New("6F00")
	state := cardreader.Tries{PIN: pin(1), SignaturePIN: pin(2), PUK: pin(2)}
	for _, tc := range []struct {
		name      string
		ref       cardreader.PINRef
		unblock   bool
		sent      bool
		err       error
		base      cardreader.Tries
		pin, sign int // -1: not known (an error)
		puk       int
	}{
		{"change", cardreader.PINIdentification, false, true, nil, state, 3, 2, 2},
		{"change, wrong PIN", cardreader.PINIdentification, false, true, &cardreader.WrongPINError{Retries: 0}, state, 0, 2, 2},
		{"a change not sent (cancelled at a prompt)", cardreader.PINIdentification, false, false, nil, state, 1, 2, 2},
		{"unblock", cardreader.PINIdentification, true, true, nil, state, 3, 2, 3},
		{"unblock, wrong PUK", cardreader.PINIdentification, true, true, &cardreader.WrongPUKError{Retries: 1}, state, 1, 2, 1},
		{"unblock, PUK blocked", cardreader.PINIdentification, true, true, cardreader.ErrPUKBlocked, state, 1, 2, 0},
		{"signature PIN change", cardreader.PINSignature, false, true, nil, state, 1, 3, 2},
		{"signature PIN unblock", cardreader.PINSignature, true, true, nil, state, 1, 3, 3},
		{"a state that could not read the PUK", cardreader.PINIdentification, false, true, nil,
			cardreader.Tries{PIN: pin(3), SignaturePIN: pin(3), PUKErr: failed}, 3, 3, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What the card says before the operation: the state's
			// counts, read for the ones the first phase reads.
			ph := pinPhase{oc: oc, read: true, tries: read(triesFor(tc.ref, tc.unblock), map[cardreader.TriesOf]cardreader.PINStatus{
				cardreader.TriesOfPIN: tc.base.PIN, cardreader.TriesOfSignaturePIN: tc.base.SignaturePIN, cardreader.TriesOfPUK: tc.base.PUK,
			})}
			o := ph.outcome(tc.ref, tc.unblock, tc.sent, tc.err)
			if !o.Known {
				t.Fatalf("outcome not known: %+v", o)
			}
			r := &StatusRead{cards: []readCard{{openCard: oc, tries: tc.base}}}
			m, ok := r.WithPINOutcome(o)
			if !ok {
				t.Fatal("not merged")
			}
			got := m.cards[0].tries
			for _, c := range []struct {
				what string
				st   cardreader.PINStatus
				err  error
				want int
			}{{"PIN", got.PIN, got.PINErr, tc.pin}, {"signature PIN", got.SignaturePIN, got.SignaturePINErr, tc.sign}, {"PUK", got.PUK, got.PUKErr, tc.puk}} {
				switch {
				case c.want < 0 && c.err == nil:
					t.Errorf("%s: %+v shown as known, want the state's error", c.what, c.st)
				case c.want >= 0 && (c.err != nil || c.st.Retries != c.want || c.st.Blocked != (c.want == 0)):
					t.Errorf("%s: %+v, %v; want %d tries", c.what, c.st, c.err, c.want)
				}
			}
			if r.cards[0].tries != tc.base {
				t.Error("WithPINOutcome changed the state it was given")
			}
		})
	}

	// A card that went during the command: nothing known, read it again.
	ph := pinPhase{oc: oc, read: true, tries: read(cardreader.TriesOfPIN, map[cardreader.TriesOf]cardreader.PINStatus{cardreader.TriesOfPIN: pin(3)})}
	if o := ph.outcome(cardreader.PINIdentification, false, true, cardreader.ErrCardRemoved); o.Known {
		t.Errorf("a card that went: outcome known %+v", o)
	}
	r := &StatusRead{cards: []readCard{{openCard: openCard{card: outcomeCard{}, identity: cardreader.Identity{CardNumber: "other"}}, tries: state}}}
	if _, ok := r.WithPINOutcome(ph.outcome(cardreader.PINIdentification, false, true, nil)); ok {
		t.Error("merged into another card's state")
	}
}
