package startup_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/startup"
)

// With the installed packages' default (config.demoDefault=off), DEMO is
// refused whichever way the user asks for it (flag, SITHSEID_ENV, the
// user's file; SITHSEID_ALLOW_DEMO changes nothing) with its own sentence
// and exit code; policy's allowDemo turns it on, and the user's file
// cannot. A development build allows it.
func TestDemoOffInReleaseUnlessPolicy(t *testing.T) {
	for _, tt := range []struct {
		name        string
		releaseOff  bool
		policy      string
		userFile    string
		flag        string
		vars        map[string]string
		wantRefused bool
	}{
		{"release flag", true, `{}`, ``, "DEMO", nil, true},
		{"release variable", true, `{}`, ``, "", map[string]string{startup.EnvEnvironment: "demo", "SITHSEID_ALLOW_DEMO": "1"}, true},
		{"release user file", true, `{}`, `{"environment": "DEMO", "allowDemo": true}`, "", nil, true},
		{"release policy false", true, `{"allowDemo": false}`, ``, "DEMO", nil, true},
		{"release policy allows", true, `{"allowDemo": true}`, ``, "DEMO", nil, false},
		{"release policy allows, user file", true, `{"allowDemo": true}`, `{"environment": "DEMO"}`, "", nil, false},
		{"development", false, `{}`, ``, "DEMO", nil, false},
		{"development policy false", false, `{"allowDemo": false}`, ``, "", map[string]string{startup.EnvEnvironment: "DEMO"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(config.SetDemoDefaultForTest(!tt.releaseOff))
			t.Cleanup(startup.SetPolicyForTest(policyFile(t, tt.policy), ""))
			home := t.TempDir()
			vars := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
			for k, v := range tt.vars {
				vars[k] = v
			}
			if tt.userFile != "" {
				f := filepath.Join(home, ".config", "sithseid", "config.json")
				if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, []byte(tt.userFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := startup.Start(startup.Env{Getenv: func(k string) string { return vars[k] }})
			defer s.Close()
			if s.ConfigErr != nil {
				t.Fatal(s.ConfigErr)
			}
			env, err := s.Environment(tt.flag, "")
			if !tt.wantRefused {
				if err != nil || env.Name != environment.DEMO || env.ServiceURL == "" {
					t.Fatalf("Environment = %+v, %v; want DEMO", env.Name, err)
				}
				if s.DemoAllowed() != true || !s.Settings.AllowDemo {
					t.Errorf("DemoAllowed false where DEMO is allowed")
				}
				return
			}
			var off *environment.TurnedOffError
			if !errors.As(err, &off) || off.Name != environment.DEMO {
				t.Fatalf("Environment = %v, want *TurnedOffError for DEMO", err)
			}
			// Roles that run on without endpoints (the agent) get an
			// environment they cannot reach anything with.
			if !env.TurnedOff || env.ServiceURL != "" || len(env.TrustAnchors) != 0 {
				t.Errorf("the refused environment still has endpoints: %+v", env)
			}
			if _, err := env.Service(); !errors.Is(err, environment.ErrTurnedOff) {
				t.Errorf("Service() = %v, want ErrTurnedOff", err)
			}
			if _, err := env.Roots(); !errors.Is(err, environment.ErrTurnedOff) {
				t.Errorf("Roots() = %v, want ErrTurnedOff", err)
			}
			for lang, want := range map[l10n.Lang]string{l10n.Swedish: "DEMO är avstängd på den här datorn", l10n.English: "DEMO environment is turned off on this computer"} {
				msg, hint, code := exitcode.Explain(l10n.MustLoad(lang), err)
				if code != exitcode.EnvironmentOff || !strings.Contains(msg, want) || !strings.Contains(hint, "policy") {
					t.Errorf("%s: Explain = %q, %q, %d; want %q and exit %d", lang, msg, hint, code, want, exitcode.EnvironmentOff)
				}
			}
			// The agent's logins tell the window the same, not "not
			// configured" (which a *TurnedOffError matches too).
			if we := localapi.ToWire(err); we.Code != "environmentTurnedOff" {
				t.Errorf("over the local API: code %q, want environmentTurnedOff", we.Code)
			}
			// Nor can the user choose DEMO for later.
			if s.Config.CanSwitchEnvironment() {
				if err := s.Config.SetUser(config.KeyEnvironment, "DEMO"); !errors.Is(err, environment.ErrTurnedOff) {
					t.Errorf("SetUser(environment, DEMO) = %v, want ErrTurnedOff", err)
				}
			}
		})
	}
}
