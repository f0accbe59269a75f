package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

// A current PIN or a PUK of the wrong form (4 digits, letters) is said to
// be of the wrong form, not blamed on the new PIN, and no try is spent:
// the card is not asked and the new PIN is not even prompted for.
func TestPINChangeWrongFormSaysWhich(t *testing.T) {
	ctx := context.Background()
	for _, old := range []string{"1234", "abcdef", "123456789"} {
		card := newStubCard(t, stubCredentials(t), false)
		svc, _ := stubService(t, card)
		rec := &recorder{Answers: []string{old, "13572468"}}
		err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt)
		var pe *cardreader.PINPolicyError
		if !errors.As(err, &pe) || pe.Reason != cardreader.PINWrongForm {
			t.Errorf("current PIN %q: %v, want PINWrongForm", old, err)
		}
		if len(rec.Asked) != 1 {
			t.Errorf("current PIN %q: asked %+v, want only the current PIN", old, rec.Asked)
		}
		if card.count("ChangePIN") != 0 || card.pinLeft != 3 {
			t.Errorf("current PIN %q: card asked (%d) or try spent (%d left)", old, card.count("ChangePIN"), card.pinLeft)
		}
	}
	for _, puk := range []string{"1234", "abcdefgh", "1234567x"} {
		card := newStubCard(t, stubCredentials(t), false)
		svc, _ := stubService(t, card)
		rec := &recorder{Answers: []string{puk, "13572468"}}
		err := svc.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt)
		var pe *cardreader.PINPolicyError
		if !errors.As(err, &pe) || pe.Reason != cardreader.PUKWrongLength {
			t.Errorf("PUK %q: %v, want PUKWrongLength", puk, err)
		}
		if card.pukLeft != 3 {
			t.Errorf("PUK %q: try spent (%d left)", puk, card.pukLeft)
		}
	}
}
