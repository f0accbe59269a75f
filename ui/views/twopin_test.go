package views

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
)

// twoPINCard is a card with a signature PIN besides the identification PIN.
func twoPINCard(number string, retries, signRetries int) app.CardStatus {
	cs := card(number, retries)
	cs.SignaturePIN = &app.SecretStatus{Retries: signRetries, Blocked: signRetries == 0}
	return cs
}

// The choice of PIN appears only for a card with a signature PIN, Swedish
// first; the tries shown are the chosen PIN's; the operation goes to the
// chosen PIN.
func TestPINChoiceOnlyWithSignaturePIN(t *testing.T) {
	for _, unblock := range []bool{false, true} {
		mk := func(env *Env, f *fakeAgent) View {
			if unblock {
				return NewUnblock(env, f)
			}
			return NewPINChange(env, f)
		}
		// One PIN: no choice, and the identification PIN is used.
		f := newFake(card("1001", 3))
		_, vv := open(t, l10n.Swedish, func(env *Env) View { return mk(env, f) })
		v := vv.(*PINView)
		eventually(t, "the card", func() bool { return v.cards.loads > 0 })
		if v.which.Visible() || v.whichRow[0].Visible() {
			t.Fatalf("unblock=%v: a choice of PIN on a one-PIN card", unblock)
		}
		if v.pin != cardreader.PINIdentification {
			t.Fatalf("unblock=%v: PIN %q", unblock, v.pin)
		}

		// Two PINs: the choice, in Swedish, on the identification PIN.
		f = newFake(twoPINCard("1002", 3, 1))
		_, vv = open(t, l10n.Swedish, func(env *Env) View { return mk(env, f) })
		v = vv.(*PINView)
		eventually(t, "the card", func() bool { return v.cards.loads > 0 })
		if !v.which.Visible() || !v.whichRow[0].Visible() {
			t.Fatalf("unblock=%v: no choice of PIN on a two-PIN card", unblock)
		}
		if want := []string{"Legitimeringskod", "Underskriftskod"}; !slices.Equal(v.which.Options, want) || v.which.Selected != want[0] {
			t.Fatalf("unblock=%v: choice %v (selected %q)", unblock, v.which.Options, v.which.Selected)
		}
		if !unblock {
			wantText(t, v.tries, "3 försök kvar")
		}
		v.which.SetSelectedIndex(1)
		if v.pin != cardreader.PINSignature {
			t.Fatalf("unblock=%v: chose %q", unblock, v.pin)
		}
		if unblock {
			wantText(t, v.tries, "3 försök kvar") // the PUK's
			wantText(t, v.notice, "Underskriftskoden är inte låst")
		} else {
			wantText(t, v.tries, "1 försök kvar") // the signature PIN's last try
		}
		first := "123456"
		if unblock {
			first = "12345678"
		}
		typeInto(v.first, first)
		typeInto(v.newPIN, "24681357")
		typeInto(v.again, "24681357")
		key(v.first, fyne.KeyEnter)
		eventually(t, "the operation", func() bool { return v.ops == 1 })
		if got := f.PINs(); !slices.Equal(got, []cardreader.PINRef{cardreader.PINSignature}) {
			t.Fatalf("unblock=%v: operations on %v, want the signature PIN", unblock, got)
		}
		want := "Underskriftskoden är bytt"
		if unblock {
			want = "Underskriftskoden är upplåst"
		}
		wantText(t, v.notice, want)
	}
}

// In English the choice says "Identification PIN" / "Signature PIN"; a
// blocked signature PIN blocks only its own change, and the identification
// PIN can still be chosen and changed.
func TestPINChoiceBlockedSignaturePINInEnglish(t *testing.T) {
	f := newFake(twoPINCard("1003", 2, 0))
	_, vv := open(t, l10n.English, func(env *Env) View { return NewPINChange(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	if want := []string{"Identification PIN", "Signature PIN"}; !slices.Equal(v.which.Options, want) {
		t.Fatalf("choice %v", v.which.Options)
	}
	wantText(t, v.tries, "2 tries left")
	v.which.SetSelectedIndex(1)
	wantText(t, v.tries, "blocked")
	wantText(t, v.notice, "The signature PIN is blocked")
	typeInto(v.first, "123456")
	typeInto(v.newPIN, "24681357")
	typeInto(v.again, "24681357")
	if !v.submit.Disabled() {
		t.Fatal("change enabled on a blocked signature PIN")
	}
	v.which.SetSelectedIndex(0)
	wantText(t, v.tries, "2 tries left")
	if v.submit.Disabled() {
		t.Fatalf("change of the identification PIN disabled: %q / %q", v.check.Text, v.notice.Text)
	}
	key(v.first, fyne.KeyEnter)
	eventually(t, "the change", func() bool { return v.ops == 1 })
	if got := f.PINs(); !slices.Equal(got, []cardreader.PINRef{cardreader.PINIdentification}) {
		t.Fatalf("operations on %v", got)
	}
}

// The status window shows the signature PIN's tries, and names the other
// PIN the identification PIN, only for a card that has one.
func TestStatusShowsSignaturePIN(t *testing.T) {
	f := newFake(twoPINCard("1004", 3, 0))
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the card", func() bool { return v.details.Visible() })
	if !v.signRow[1].Visible() {
		t.Fatal("no signature PIN row")
	}
	wantText(t, v.pinName, "Legitimeringskod")
	wantText(t, v.signPIN, "låst")

	f = newFake(card("1005", 3))
	_, vv = open(t, l10n.English, func(env *Env) View { return NewStatus(env, f) })
	v = vv.(*StatusView)
	eventually(t, "the card", func() bool { return v.details.Visible() })
	if v.signRow[1].Visible() {
		t.Fatal("a signature PIN row on a one-PIN card")
	}
	wantText(t, v.pinName, "PIN")
}
