package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// The windows that follow the agent's published state (login, QR,
// settings, about) warn in their header when the card the agent names is
// a TEST card while the app is set to PROD, and say nothing of it when the
// app is set to TEST; the login window is where it matters most.
func TestHeaderWarnsWrongEnvironmentFromAgentState(t *testing.T) {
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
	for _, name := range []string{"login", "qr", "settings", "about"} {
		for _, appEnv := range []string{"PROD", "TEST"} {
			c := card("9752", 3)
			f := newFake(c)
			f.qr = func(int) (*app.QRHandover, error) {
				return &app.QRHandover{Payload: "p", PNG: tinyPNG(), ValidFor: time.Minute}, nil
			}
			f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			f.events <- localapi.Event{State: &localapi.State{Readers: f.status.Readers, Cards: 1,
				Card: &localapi.CardSummary{Reader: c.Reader, CardNumber: "9752", Holder: c.Holder, PIN: c.PIN, PUK: c.PUK,
					Environment: localapi.CardEnvTest}}}
			_, v := open(t, l10n.Swedish, func(env *Env) View {
				env.State, env.Environment = f, appEnv
				return mks[name](env, f)
			})
			h := headerOf(v)
			eventually(t, name+"'s header", func() bool { return h.shown != "" })
			if appEnv == "PROD" {
				if h.shown != StateWrongEnv || !strings.Contains(h.state.Text, "testkort") || !strings.Contains(h.state.Text, "PROD") {
					t.Errorf("%s, app in PROD, TEST card: header %s %q", name, h.shown, h.state.Text)
				}
			} else if h.shown != StateReady {
				t.Errorf("%s, app in TEST, TEST card: header %s %q", name, h.shown, h.state.Text)
			}
			// The card is exchanged for one of unknown environment (an
			// older agent): no warning.
			f.events <- localapi.Event{State: &localapi.State{Readers: f.status.Readers, Cards: 1,
				Card: &localapi.CardSummary{Reader: c.Reader, CardNumber: "9753", Holder: c.Holder, PIN: c.PIN, PUK: c.PUK}}}
			eventually(t, name+"'s header for a card of unknown environment", func() bool { return h.shown == StateReady })
		}
	}
}
