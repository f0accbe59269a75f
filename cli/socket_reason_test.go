//go:build unix

package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/oob"
)

// The browser's hand-off meets a socket directory of another user: it says
// so and what to do, not "SITHS eID is not running" (usability review).
func TestHandoffForeignSocketReason(t *testing.T) {
	testenv.Root(t, "to give a directory to another uid")
	home := t.TempDir()
	env := map[string]string{
		"HOME":            home,
		"LANG":            "sv_SE.UTF-8",
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
	var stderr bytes.Buffer
	url := oob.AutoStartURL("0b7a4a8c-5c4e-4d2f-9f1e-2b1f3c4d5e6f", "")
	code := cli.Handoff(context.Background(), cli.Env{Getenv: func(k string) string { return env[k] }, Stderr: &stderr}, url)
	if code == cli.ExitOK {
		t.Fatalf("handoff into another user's socket directory succeeded: %s", stderr.String())
	}
	wantIn(t, stderr.String(), "annan användare")
	wantIn(t, stderr.String(), dir)
	wantIn(t, stderr.String(), "Logga ut och in")
	wantNotIn(t, stderr.String(), "körs inte")
}
