package views

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
)

var testHelpdesk = config.Helpdesk{Name: "Servicecenter Test", Phone: "+46 10 123 45 67", URL: "https://www.example.se/sc", Hours: "vardagar 07–17"}

const (
	svHelpdesk = "Ring Servicecenter Test, +46 10 123 45 67. Öppet vardagar 07–17. Mer hjälp: https://www.example.se/sc"
	enHelpdesk = "Call Servicecenter Test, +46 10 123 45 67. Open vardagar 07–17. More help: https://www.example.se/sc"
)

func withHelpdesk(mk func(env *Env) View) func(env *Env) View {
	return func(env *Env) View { env.Helpdesk = testHelpdesk; return mk(env) }
}

// TestPINBlockedNamesHelpdesk: the PIN window's blocked-PIN message names
// policy's helpdesk (issue 17): when the card's PIN is blocked as the
// window opens, and when an attempt blocks it.
func TestPINBlockedNamesHelpdesk(t *testing.T) {
	blocked := card("1001", 0)
	blocked.PUK = nil
	blocked.Warnings = []app.Warning{{Code: app.WarnPINBlockedNoPUK}}
	f := newFake(blocked)
	_, vv := open(t, l10n.Swedish, withHelpdesk(func(env *Env) View { return NewPINChange(env, f) }))
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.notice, "låst")
	wantText(t, v.hint, svHelpdesk)

	f2 := newFake(card("1001", 1))
	f2.op = func(map[app.PromptKind]string) error { return cardreader.ErrPINBlocked }
	_, vv2 := open(t, l10n.English, withHelpdesk(func(env *Env) View { return NewPINChange(env, f2) }))
	v2 := vv2.(*PINView)
	eventually(t, "the card", func() bool { return v2.cards.loads > 0 })
	typeInto(v2.first, "123450")
	typeInto(v2.newPIN, "24681357")
	typeInto(v2.again, "24681357")
	test.Tap(v2.submit)
	eventually(t, "the attempt", func() bool { return v2.ops == 1 })
	wantText(t, v2.hint, enHelpdesk)
}

// TestStatusNamesHelpdeskWhenNoPUK: the status window names the helpdesk
// under the warning of a PIN blocked without a PUK, and not for a card
// whose holder has a PUK to type.
func TestStatusNamesHelpdeskWhenNoPUK(t *testing.T) {
	blocked := card("1001", 0)
	blocked.PUK = nil
	blocked.Warnings = []app.Warning{{Code: app.WarnPINBlockedNoPUK}}
	f := newFake(blocked)
	_, vv := open(t, l10n.Swedish, withHelpdesk(func(env *Env) View { return NewStatus(env, f) }))
	v := vv.(*StatusView)
	eventually(t, "the card", func() bool { return v.details.Visible() })
	wantText(t, v.warnings, "PIN-koden är låst")
	wantText(t, v.warnings, svHelpdesk)

	withPUK := card("1001", 0)
	withPUK.Warnings = []app.Warning{{Code: app.WarnPINBlocked}}
	f2 := newFake(withPUK)
	_, vv2 := open(t, l10n.Swedish, withHelpdesk(func(env *Env) View { return NewStatus(env, f2) }))
	v2 := vv2.(*StatusView)
	eventually(t, "the card", func() bool { return v2.details.Visible() })
	if strings.Contains(v2.warnings.Text, "Servicecenter") {
		t.Errorf("a card with a PUK: %q", v2.warnings.Text)
	}
}

// TestAboutNamesHelpdesk: the About window names policy's helpdesk
// always, and shows no support row when policy names none.
func TestAboutNamesHelpdesk(t *testing.T) {
	_, vv := open(t, l10n.English, withHelpdesk(func(env *Env) View { return NewAbout(env, AboutInfo{Version: "1"}) }))
	if text := visibleText(vv.(*AboutView).Content()); !strings.Contains(text, enHelpdesk) || !strings.Contains(text, "Support") {
		t.Errorf("About shows: %s", text)
	}
	_, vv2 := open(t, l10n.English, func(env *Env) View { return NewAbout(env, AboutInfo{Version: "1"}) })
	if text := visibleText(vv2.(*AboutView).Content()); strings.Contains(text, "Support") {
		t.Errorf("About without a helpdesk shows: %s", text)
	}
}
