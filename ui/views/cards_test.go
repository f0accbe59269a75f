package views

import (
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// Two cards, one whose card number is unknown: the empty number is never
// taken for "no card chosen". The status window opens on the card it is
// told (the tray passes the card it shows, by reader when there is no
// number), its picker names that card, the agent gets a selector for it,
// and the user can choose either card and back.
func TestStatusTwoCardsOneWithoutNumber(t *testing.T) {
	const noNumberReader = "Virtual PCD 00 01"
	numbered := card("1001", 2)
	unnumbered := card("", 3)
	unnumbered.Reader = noNumberReader
	unnumbered.Holder.Name = "Bertil Berg"
	unnumbered.Holder.HSAID = "SE2321000016-5678"

	for _, order := range [][]app.CardStatus{{numbered, unnumbered}, {unnumbered, numbered}} {
		f := newFake(order...)
		_, vv := open(t, l10n.Swedish, func(env *Env) View {
			env.Card = localapi.CardKey("", noNumberReader)
			return NewStatus(env, f)
		})
		v := vv.(*StatusView)
		eventually(t, "the cards", func() bool { return v.cards.loads == 1 })
		wantText(t, v.holder, "Bertil Berg")
		if !v.cards.picker.Visible() || v.cards.picker.Selected != noNumberReader {
			t.Fatalf("picker shown %v, selected %q, offers %q", v.cards.picker.Visible(), v.cards.picker.Selected, v.cards.picker.Options)
		}
		if got := v.cards.selector(); got != (app.Selector{Reader: noNumberReader}) {
			t.Fatalf("selector %+v for the card without a number", got)
		}
		v.cards.picker.SetSelected("1001")
		wantText(t, v.holder, "Anna Andersson")
		if got := v.cards.selector(); got != (app.Selector{CardNumber: "1001"}) {
			t.Fatalf("selector %+v after choosing 1001", got)
		}
		v.cards.picker.SetSelected(noNumberReader) // the user chooses it back
		wantText(t, v.holder, "Bertil Berg")
		if got := v.cards.selector(); got != (app.Selector{Reader: noNumberReader}) {
			t.Fatalf("selector %+v after choosing the card without a number", got)
		}
	}

	// Opened without a card named, on the first card: the picker says which.
	f := newFake(unnumbered, numbered)
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the cards", func() bool { return v.cards.loads == 1 })
	wantText(t, v.holder, "Bertil Berg")
	if v.cards.picker.Selected != noNumberReader {
		t.Fatalf("picker blank on the card without a number: selected %q of %q", v.cards.picker.Selected, v.cards.picker.Options)
	}
}

// Two certificates of a card expire: each warning says which certificate
// it is about, not the same sentence twice.
func TestStatusWarningsNameCertificate(t *testing.T) {
	cs := card("1001", 3)
	cs.Warnings = []app.Warning{
		{Code: app.WarnCertificateExpiring, CertID: "9a", Days: 9},
		{Code: app.WarnCertificateExpiring, CertID: "9c", Days: 9},
	}
	f := newFake(cs)
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the card", func() bool { return v.cards.loads == 1 })
	lines := strings.Split(v.warnings.Text, "\n")
	if len(lines) != 2 || lines[0] == lines[1] {
		t.Fatalf("warnings do not tell the certificates apart:\n%s", v.warnings.Text)
	}
	wantText(t, v.warnings, "legitimering")
	wantText(t, v.warnings, "underskrift")
}
