package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
	uitheme "github.com/sithseid/sithseid/ui/theme"
)

// windowHeight is the height the window of v needs at the windows' width,
// in the product's theme: its content's minimum plus the window's own
// padding (a Fyne window is padded), as "sithseid ui" shrinks it (Env.Fit).
func windowHeight(t *testing.T, h *harness, v View) float32 {
	t.Helper()
	drainUI()
	// Wrapped text knows its height once laid out at the window's width.
	for range 3 {
		h.w.Resize(fyne.NewSize(screenFitWidth, 1000))
		h.w.Content().Refresh()
	}
	return v.Content().MinSize().Height + 2*theme.Padding()
}

// useProductTheme gives the test app the windows' theme (ui/theme), whose
// sizes decide the heights.
func useProductTheme(t *testing.T) {
	t.Helper()
	th, err := uitheme.New("")
	if err != nil {
		t.Fatal(err)
	}
	fyne.CurrentApp().Settings().SetTheme(th)
}

// Every window fits a 1366×768 screen at 150 % (UX-GUIDE: at most 440
// units high at 580 wide), with the banner of a test environment, in both
// languages, in the state the screenshots show and in its fullest one (a
// message and a hint under the form).
func TestEveryWindowFitsSmallScreen(t *testing.T) {
	qr := func(int) (*app.QRHandover, error) {
		return &app.QRHandover{Payload: "p", PNG: tinyPNG(), ValidFor: 20 * time.Second}, nil
	}
	a := approval(&oob.Origin{EndUserIP: "127.0.0.1", EndUserIPMatch: true})
	a.Text = "Logga in i journalen på Avdelning 12"
	login := approvalOnly(a)
	// The names as a real card's certificates carry them (the screenshots'
	// virtual card): long enough to wrap.
	real := func(retries int) app.CardStatus {
		c := card("9752269091392128877", retries)
		for i := range c.Certificates {
			c.Certificates[i].Subject = "SERIALNUMBER=SE2321000016-1234,CN=Anna Andersson,O=Region Test,C=SE"
			c.Certificates[i].Issuer = "CN=SITHS e-id Person HSA-id 3 CA v1 TEST,O=sithseid test PKI (not Inera),C=SE"
			c.Certificates[i].Serial = "580ffdbbf45a483287f22e3d13a5be88"
			c.Certificates[i].SHA256 = strings.Repeat("1889799c878c4542", 4)
		}
		return c
	}
	blocked := real(0)
	many := real(3)
	for i := 0; i < 4; i++ {
		c := many.Certificates[1]
		c.ID = string(rune('a'+i)) + "1"
		many.Certificates = append(many.Certificates, c)
	}
	for _, tc := range []struct {
		name string
		card app.CardStatus
		mk   func(*Env, *fakeAgent) View
		// fill brings the view to its fullest state.
		fill func(t *testing.T, v View)
	}{
		{"status", real(3), func(e *Env, f *fakeAgent) View { return NewStatus(e, f) }, nil},
		{"pin", real(3), func(e *Env, f *fakeAgent) View { return NewPINChange(e, f) }, func(t *testing.T, vv View) {
			v := vv.(*PINView)
			typeInto(v.first, "12345")
			typeInto(v.newPIN, "123456")
			v.fail(&cardreader.WrongPINError{Retries: 2})
		}},
		{"unblock", blocked, func(e *Env, f *fakeAgent) View { return NewUnblock(e, f) }, func(t *testing.T, vv View) {
			v := vv.(*PINView)
			typeInto(v.first, "1234")
			typeInto(v.newPIN, "123456")
			v.fail(&cardreader.WrongPUKError{Retries: 2})
		}},
		{"certs", many, func(e *Env, f *fakeAgent) View { return NewCerts(e, f) }, func(t *testing.T, v View) { v.(*CertsView).toggleDetails() }},
		{"login", real(3), func(e *Env, f *fakeAgent) View { return NewLogin(e, f, "h") }, nil},
		{"qr", real(3), func(e *Env, f *fakeAgent) View { return NewQR(e, f, "h") }, nil},
		{"settings", real(3), func(e *Env, f *fakeAgent) View {
			return NewSettings(e, &fakePrefs{set: map[string]string{}, locked: map[string]bool{}}, Autostart{})
		}, nil},
		{"about", real(3), func(e *Env, f *fakeAgent) View {
			return NewAbout(e, AboutInfo{Version: "1.2.3", Environment: "DEMO", Diagnostics: func(context.Context, string) error { return nil }})
		}, nil},
	} {
		for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
			f := newFake(tc.card)
			f.qr, f.login = qr, login
			// The agent's state for the header of the windows that read
			// no card; policy's helpdesk for the About window.
			cs := tc.card
			f.events <- localapi.Event{State: &localapi.State{Readers: f.status.Readers, Cards: 1,
				Card: &localapi.CardSummary{Reader: cs.Reader, CardNumber: cs.CardNumber, Holder: cs.Holder, PIN: cs.PIN, PUK: cs.PUK}}}
			h, v := open(t, lang, func(env *Env) View {
				env.Environment, env.State = "DEMO", f
				env.Helpdesk = config.Helpdesk{Name: "Servicecenter Region Test", Phone: "010-123 45 67", URL: "https://support.example.se/siths", Hours: "vardagar 7–17"}
				return tc.mk(env, f)
			})
			useProductTheme(t)
			eventually(t, tc.name+" loaded", func() bool {
				s := visibleText(v.Content())
				return !strings.Contains(s, "Läser kortet") && !strings.Contains(s, "Reading the card")
			})
			eventually(t, tc.name+"'s header", func() bool { return headerOf(v).shown != "" })
			switch x := v.(type) {
			case *LoginView:
				eventually(t, "the PIN prompt", func() bool { return x.pinRow.Visible() })
			case *PINView:
				eventually(t, "the card", func() bool { return x.cards.loads > 0 })
			case *CertsView:
				eventually(t, "the card", func() bool { return x.cards.loads > 0 })
			case *StatusView:
				eventually(t, "the card", func() bool { return x.cards.loads > 0 })
			case *QRView:
				eventually(t, "the code", func() bool { return x.fetches > 0 })
			}
			hgt := windowHeight(t, h, v)
			full := hgt
			if tc.fill != nil {
				tc.fill(t, v)
				full = windowHeight(t, h, v)
			}
			t.Logf("%s %s: %.0f units high, %.0f in its fullest state", tc.name, lang, hgt, full)
			if full > screenFitHeight {
				t.Errorf("%s (%s) needs %.0f units of height, want <= %d", tc.name, lang, full, screenFitHeight)
			}
			if w := v.Content().MinSize().Width + 2*theme.Padding(); w > screenFitWidth {
				t.Errorf("%s (%s) needs %.0f units of width, want <= %d", tc.name, lang, w, screenFitWidth)
			}
		}
	}
}

// headerOf is the header of any view.
func headerOf(v View) *header {
	switch x := v.(type) {
	case *StatusView:
		return x.head
	case *PINView:
		return x.head
	case *CertsView:
		return x.head
	case *LoginView:
		return x.head
	case *QRView:
		return x.head
	case *SettingsView:
		return x.head
	case *AboutView:
		return x.head
	}
	panic("no header")
}

// The settings window says so when the session runs in another
// environment than the saved one (SITHSEID_ENV): the banner says DEMO, and
// the choice, showing the saved PROD, would contradict it unexplained.
func TestSettingsNamesSessionEnvironment(t *testing.T) {
	prefs := &fakePrefs{s: config.Settings{Environment: "PROD"}, set: map[string]string{}, locked: map[string]bool{}}
	_, vv := open(t, l10n.Swedish, func(env *Env) View { env.Environment = "DEMO"; return NewSettings(env, prefs, Autostart{}) })
	v := vv.(*SettingsView)
	wantText(t, v.envNote, "Just nu används DEMO (variabeln SITHSEID_ENV)")
	_, vv = open(t, l10n.Swedish, func(env *Env) View { env.Environment = "PROD"; return NewSettings(env, prefs, Autostart{}) })
	wantText(t, vv.(*SettingsView).envNote, "En ny miljö gäller direkt")
}
