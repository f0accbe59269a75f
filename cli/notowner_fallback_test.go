//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// A card command whose session socket directory belongs to another user
// runs with the card in this process, as before, but says so first, and
// how to mend it (sv/en), instead of passing the agent over without a word
// (issue 14 item 9).
func TestCardCommandForeignSocketSaysSo(t *testing.T) {
	testenv.Root(t, "to give a directory to another uid")
	for _, tc := range []struct{ lang, want, mend string }{
		{"sv_SE.UTF-8", "tillhör en annan användare: kommandot använder kortet direkt i stället", "Logga ut och in igen"},
		{"en_US.UTF-8", "belongs to another user: this command uses the card directly instead", "Log out and in again"},
	} {
		home := t.TempDir()
		env := map[string]string{
			"HOME":            home,
			"LANG":            tc.lang,
			"XDG_RUNTIME_DIR": filepath.Join(home, "run"),
			"XDG_STATE_HOME":  filepath.Join(home, "state"),
			"XDG_CONFIG_HOME": filepath.Join(home, "config"),
		}
		dir := filepath.Join(home, "run", "sithseid")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		r := sithseidEnv(t, env, "status")
		wantIn(t, r.stderr, tc.want)
		wantIn(t, r.stderr, dir)
		wantIn(t, r.stderr, tc.mend)
	}
	// An ordinary session with no agent runs in-process without a word of it.
	home := t.TempDir()
	r := sithseidEnv(t, map[string]string{"HOME": home, "LANG": "en_US.UTF-8", "XDG_RUNTIME_DIR": filepath.Join(home, "run"),
		"XDG_CONFIG_HOME": filepath.Join(home, "config"), "XDG_STATE_HOME": filepath.Join(home, "state")}, "status")
	wantNotIn(t, r.stderr, "another user")
}
