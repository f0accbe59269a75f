package views

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
	uitheme "github.com/sithseid/sithseid/ui/theme"
)

func TestCardEnvironment(t *testing.T) {
	for _, tc := range []struct{ issuer, want string }{
		{testpki.HSAPersonCAName, "TEST"},
		{testpki.PNPersonCAName, "TEST"},
		{"CN=" + testpki.HSAPersonCA2Name + ",O=Inera AB,C=SE", "TEST"},
		{"CN=SITHS e-id Person HSA-id 3 CA v1,O=Inera AB,C=SE", "PROD"},
		{"CN=SITHS e-id Person ID 3 CA v1,O=Inera AB,C=SE", "PROD"},
		{"CN=SITHS e-id Person HSA-id 3 CA v1,O=Testregion AB,C=SE", "PROD"}, // "Testregion" is no TEST marker
		{"", ""},
	} {
		if got := CardEnvironment(tc.issuer); got != tc.want {
			t.Errorf("CardEnvironment(%q) = %q, want %q", tc.issuer, got, tc.want)
		}
	}
}

func TestHeaderStateSentences(t *testing.T) {
	sv, en := l10n.MustLoad(l10n.Swedish), l10n.MustLoad(l10n.English)
	ready := card("1", 3)
	ready.Issuer = "CN=SITHS e-id Person HSA-id 3 CA v1,O=Inera AB,C=SE"
	blocked := card("1", 0)
	expiring := card("1", 3)
	expiring.Warnings = []app.Warning{{Code: app.WarnCertificateExpiring, Days: 30}, {Code: app.WarnCertificateExpiring, Days: 9}}
	testCard := card("1", 3)
	testCard.Issuer = "CN=" + testpki.HSAPersonCAName
	withReader := &app.Status{Readers: []app.ReaderStatus{{Name: "r"}}}
	for _, tc := range []struct {
		name   string
		st     *app.Status
		cs     *app.CardStatus
		err    error
		appEnv string
		want   CardState
		sv, en string
	}{
		{"ready", withReader, &ready, nil, "PROD", StateReady, "Kortet är klart att använda.", "Your card is ready to use."},
		{"no card", withReader, nil, cardreader.ErrNoCard, "PROD", StateNoCard, "Sätt i ditt SITHS-kort.", "Insert your SITHS card."},
		{"no reader", &app.Status{}, nil, cardreader.ErrNoCard, "PROD", StateNoReader, "Ingen kortläsare", "No card reader"},
		{"service down", nil, nil, errors.New("dial unix: no such file"), "PROD", StateServiceDown, "svarar inte", "not responding"},
		{"pin blocked", withReader, &blocked, nil, "PROD", StatePINBlocked, "PIN-koden är låst", "Your PIN is locked"},
		{"expiring", withReader, &expiring, nil, "PROD", StateExpiring, "går ut om 9 dagar", "expires in 9 days"},
		{"test card in PROD", withReader, &testCard, nil, "PROD", StateWrongEnv, "testkort, men SITHS eID använder produktion (PROD)", "test card, but SITHS eID uses production (PROD)"},
		{"test card in DEMO", withReader, &testCard, nil, "DEMO", StateReady, "klart", "ready"},
		{"prod card in TEST", withReader, &ready, nil, "TEST", StateWrongEnv, "produktionskort, men SITHS eID använder TEST", "production card, but SITHS eID uses TEST"},
	} {
		for _, l := range []struct {
			c    *l10n.Catalog
			want string
		}{{sv, tc.sv}, {en, tc.en}} {
			s, text := cardState(l.c, tc.st, tc.cs, tc.err, tc.appEnv)
			if s != tc.want || !strings.Contains(text, l.want) {
				t.Errorf("%s: %s %q, want %s containing %q", tc.name, s, text, tc.want, l.want)
			}
		}
		if s, _ := cardState(sv, tc.st, tc.cs, tc.err, tc.appEnv); s != StateWrongEnv && stateIcon(s).Name() != "state-"+string(s)+".png" {
			t.Errorf("%s: no tray icon for %s", tc.name, s)
		}
	}
}

// The status window's header shows the card's state with the tray's icon,
// and a banner when the app is not in production.
func TestHeaderInWindow(t *testing.T) {
	for _, tc := range []struct {
		env    string
		banner bool
	}{{"PROD", false}, {"", false}, {"TEST", true}} {
		f := newFake(card("9752", 0))
		_, vv := open(t, l10n.Swedish, func(env *Env) View { env.Environment = tc.env; return NewStatus(env, f) })
		v := vv.(*StatusView)
		eventually(t, "the header", func() bool { return v.head.shown != "" })
		if v.head.shown != StatePINBlocked || !strings.Contains(v.head.state.Text, "PIN-koden är låst") || !v.head.row.Visible() {
			t.Errorf("env %q: header %s %q", tc.env, v.head.shown, v.head.state.Text)
		}
		if v.head.banner.Visible() != tc.banner {
			t.Errorf("env %q: banner visible %v", tc.env, v.head.banner.Visible())
		}
		if tc.banner && v.head.bannerText.Text != "TESTMILJÖ – inloggningar går till TEST, inte till produktion." {
			t.Errorf("banner says %q", v.head.bannerText.Text)
		}
	}
}

// Policy's logo is in the header, beside the state (never replacing it).
func TestHeaderShowsLogo(t *testing.T) {
	f := newFake(card("9752", 3))
	logo := fyne.NewStaticResource("logo.png", tinyPNG())
	_, vv := open(t, l10n.English, func(env *Env) View { env.Logo = logo; return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the header", func() bool { return v.head.shown != "" })
	if v.head.logo == nil || v.head.logo.Resource != logo || !v.head.row.Visible() || v.head.icon.Resource == nil {
		t.Fatalf("header without the logo or the state icon")
	}
}

// The windows that read no card (login, QR, settings, about) show the
// card's state too, as the agent publishes it (issue 17), and "service
// down" when no agent answers.
func TestHeaderInWindowsThatReadNoCard(t *testing.T) {
	qr := func(int) (*app.QRHandover, error) {
		return &app.QRHandover{Payload: "p", PNG: tinyPNG(), ValidFor: 20 * time.Second}, nil
	}
	mks := map[string]func(*Env, *fakeAgent) View{
		"login": func(e *Env, f *fakeAgent) View { return NewLogin(e, f, "h") },
		"qr":    func(e *Env, f *fakeAgent) View { return NewQR(e, f, "h") },
		"settings": func(e *Env, f *fakeAgent) View {
			return NewSettings(e, &fakePrefs{set: map[string]string{}, locked: map[string]bool{}}, Autostart{})
		},
		"about": func(e *Env, f *fakeAgent) View {
			return NewAbout(e, AboutInfo{Version: "1", Diagnostics: func(context.Context, string) error { return nil }})
		},
	}
	for name, mk := range mks {
		blocked := card("9752", 0)
		f := newFake(blocked)
		f.qr = qr
		f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		f.events <- localapi.Event{State: &localapi.State{Readers: f.status.Readers, Cards: 1,
			Card: &localapi.CardSummary{Reader: blocked.Reader, CardNumber: "9752", Holder: blocked.Holder, PIN: blocked.PIN, PUK: blocked.PUK}}}
		_, v := open(t, l10n.Swedish, func(env *Env) View { env.State = f; return mk(env, f) })
		h := headerOf(v)
		eventually(t, name+"'s header", func() bool { return h.shown != "" })
		if h.shown != StatePINBlocked || !h.row.Visible() || !strings.Contains(h.state.Text, "PIN-koden är låst") {
			t.Errorf("%s: header %s %q (shown %v)", name, h.shown, h.state.Text, h.row.Visible())
		}
		// The card is taken out: the header follows.
		f.events <- localapi.Event{State: &localapi.State{Readers: f.status.Readers}}
		eventually(t, name+"'s header without the card", func() bool { return h.shown == StateNoCard })

		// No agent answers.
		_, v = open(t, l10n.English, func(env *Env) View {
			env.State = NoAgent(errors.New("dial unix: no such file"))
			return mk(env, f)
		})
		h = headerOf(v)
		eventually(t, name+"'s header without an agent", func() bool { return h.shown != "" })
		if h.shown != StateServiceDown || !strings.Contains(h.state.Text, "not responding") {
			t.Errorf("%s without an agent: header %s %q", name, h.shown, h.state.Text)
		}
	}
}

// themeVariant is a theme that draws one variant whatever the OS says, as
// the OS switching between light and dark would.
type themeVariant struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t themeVariant) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// The not-PROD banner follows a switch between light and dark while the
// window is open: it is drawn again in the new variant's colours.
func TestBannerFollowsThemeSwitch(t *testing.T) {
	f := newFake(card("9752", 3))
	h, vv := open(t, l10n.Swedish, func(env *Env) View { env.Environment = "TEST"; return NewStatus(env, f) })
	th, err := uitheme.New("")
	if err != nil {
		t.Fatal(err)
	}
	set := func(v fyne.ThemeVariant) { fyne.CurrentApp().Settings().SetTheme(themeVariant{th, v}); drainUI() }
	b := vv.(*StatusView).head.banner
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark, theme.VariantLight} {
		set(v)
		wantBg, wantFg := color.Color(uitheme.PaletteFor(v)[theme.ColorNameWarning]), color.Color(uitheme.PaletteFor(v)[theme.ColorNameForegroundOnWarning])
		eventually(t, fmt.Sprintf("the banner in variant %v", v), func() bool {
			return b.bg.FillColor == wantBg && b.text.Color == wantFg
		})
	}
	_ = h
}
