package views

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
)

// urlRecorder is the test app, recording every URL it is asked to open.
type urlRecorder struct {
	fyne.App
	mu     sync.Mutex
	opened []string
}

func (r *urlRecorder) OpenURL(u *url.URL) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened = append(r.opened, u.String())
	return r.App.OpenURL(u)
}

// After a login with a return URL the window opens nothing and says the
// user can go back to the browser (docs/protocol.md §1 step 6: the RP's
// page, polling collect, moves on in the tab the user started in).
func TestLoginOpensNoReturnURL(t *testing.T) {
	f := newFake()
	f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		return &app.LoginResult{RelyingParty: "Journalsystemet", HSAID: "SE2321000016-1234", Redirect: "https://journal.example/done?order=1"}, nil
	}
	var rec *urlRecorder
	h, vv := open(t, l10n.Swedish, func(env *Env) View {
		rec = &urlRecorder{App: fyne.CurrentApp()}
		fyne.SetCurrentApp(rec)
		return NewLogin(env, f, "h1")
	})
	v := vv.(*LoginView)
	eventually(t, "the login", func() bool { return v.result != nil })
	text := visibleText(h.w.Content())
	if !strings.Contains(text, "Inloggad hos Journalsystemet") || !strings.Contains(text, "tillbaka till webbläsaren") {
		t.Errorf("after the login the window shows: %s", text)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.opened) != 0 {
		t.Errorf("the window opened %v", rec.opened)
	}
}

// The settings window offers DEMO only where it is allowed (policy's
// allowDemo, else the build's default: off in the installed packages).
func TestSettingsOfferDemoOnlyWhenAllowed(t *testing.T) {
	for _, allow := range []bool{false, true} {
		prefs := &fakePrefs{s: config.Settings{Environment: "PROD", AllowDemo: allow}, set: map[string]string{}, locked: map[string]bool{}}
		_, vv := open(t, l10n.English, func(env *Env) View { return NewSettings(env, prefs, Autostart{}) })
		v := vv.(*SettingsView)
		if got := slices.Contains(v.env.Options, "DEMO"); got != allow {
			t.Errorf("allowDemo %v: DEMO offered %v (options %v)", allow, got, v.env.Options)
		}
		if !slices.Contains(v.env.Options, "PROD") {
			t.Errorf("allowDemo %v: PROD not offered (options %v)", allow, v.env.Options)
		}
	}
}
