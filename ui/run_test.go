package ui_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/ui"
)

// A command line the ui cannot use says how to call it, in the user's
// language, and exits 2 without opening a window.
func TestRunUsage(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		lang string
		args []string
		want string
	}{
		{"sv_SE.UTF-8", []string{"nosuchview"}, "Användning: sithseid ui VY"},
		{"en_US.UTF-8", []string{"login"}, "login and qr need --handoff"},
		{"sv_SE.UTF-8", []string{"qr", "--handoff"}, "Vyer: status, pin, unblock, certs, login, qr, settings, about"},
		{"en_US.UTF-8", []string{"status", "extra"}, "Usage: sithseid ui VIEW"},
		{"sv_SE.UTF-8", []string{"pin", "--lang", "en", "--bogus"}, "Usage: sithseid ui VIEW"},
	} {
		var stderr bytes.Buffer
		env := map[string]string{"LANG": tc.lang, "HOME": home, "XDG_CONFIG_HOME": home}
		code := ui.Run(context.Background(), ui.Env{Args: tc.args, Stderr: &stderr, Getenv: func(k string) string { return env[k] },
			Log: slog.New(slog.DiscardHandler)})
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("ui %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
