package tray

import (
	"testing"

	"github.com/sithseid/sithseid/localapi"
)

// A card of another environment than the app's is said in the tooltip,
// before what the card itself says, with the attention badge; a card of
// the app's environment, or of unknown environment, changes nothing.
func TestBuildWarnsWrongCardEnvironment(t *testing.T) {
	st := func(env localapi.CardEnvironment, blocked bool) localapi.State {
		return localapi.State{Readers: reader(true), Cards: 1, Card: card(func(c *localapi.CardSummary) {
			c.Environment = env
			c.PIN.Blocked = blocked
		})}
	}
	for _, tc := range []struct {
		name   string
		st     localapi.State
		appEnv string
		icon   Icon
		sv, en string
	}{
		{"test card, PROD", st(localapi.CardEnvTest, false), "PROD", IconExpiring,
			"SITHS eID: det här är ett testkort, men SITHS eID använder produktion (PROD)", "SITHS eID: this is a test card, but SITHS eID uses production (PROD)"},
		{"test card, PROD, PIN blocked", st(localapi.CardEnvTest, true), "PROD", IconExpiring,
			"SITHS eID: det här är ett testkort, men SITHS eID använder produktion (PROD)", "SITHS eID: this is a test card, but SITHS eID uses production (PROD)"},
		{"prod card, TEST", st(localapi.CardEnvProd, false), "test", IconExpiring,
			"SITHS eID: det här är ett produktionskort, men SITHS eID använder TEST", "SITHS eID: this is a production card, but SITHS eID uses TEST"},
		{"test card, TEST", st(localapi.CardEnvTest, false), "TEST", IconReady,
			"SITHS eID: kortet är klart att använda", "SITHS eID: card ready to use"},
		{"prod card, PROD", st(localapi.CardEnvProd, false), "PROD", IconReady,
			"SITHS eID: kortet är klart att använda", "SITHS eID: card ready to use"},
		{"unknown, PROD", st("", false), "PROD", IconReady,
			"SITHS eID: kortet är klart att använda", "SITHS eID: card ready to use"},
		{"busy wins", func() localapi.State { s := st(localapi.CardEnvTest, false); s.Busy = "pin.change"; return s }(), "PROD", IconBusy,
			"SITHS eID: arbetar med kortet …", ""},
	} {
		m := Build(View{State: tc.st, Environment: tc.appEnv}, sv)
		if m.Icon != tc.icon || m.Tooltip != tc.sv {
			t.Errorf("%s: icon %s tooltip %q, want %s %q", tc.name, m.Icon, m.Tooltip, tc.icon, tc.sv)
		}
		if tc.en != "" {
			if m := Build(View{State: tc.st, Environment: tc.appEnv}, en); m.Tooltip != tc.en {
				t.Errorf("%s: English tooltip %q, want %q", tc.name, m.Tooltip, tc.en)
			}
		}
		if m.Holder.Label != "Anna Andersson" {
			t.Errorf("%s: holder line %q", tc.name, m.Holder.Label)
		}
	}
}
