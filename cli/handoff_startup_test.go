package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/usertext"
	"github.com/sithseid/sithseid/oob"
)

// The URL handler starts as every role does: with the log file on (as
// main has it) its lines land in the log file, and its messages follow the
// configured language over the locale. (It had logged nowhere and spoken
// the locale's language.)
func TestHandoffLogsAndSpeaksTheConfiguredLanguage(t *testing.T) {
	rig.Require(t)
	home := t.TempDir()
	env := map[string]string{
		"HOME":            home,
		"LANG":            "sv_SE.UTF-8",
		"XDG_RUNTIME_DIR": filepath.Join(home, "run"),
		"XDG_STATE_HOME":  filepath.Join(home, "state"),
		"XDG_CONFIG_HOME": filepath.Join(home, "config"),
	}
	getenv := func(k string) string { return env[k] }
	if err := os.MkdirAll(filepath.Join(home, "config", "sithseid"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "sithseid", "config.json"), []byte(`{"language": "en"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(home, "run", "sithseid", "agent.sock")
	agenttest.StartAgent(t, agent.Options{Service: agenttest.Service(t, cardkind.PIV), Address: addr})
	ctx := context.Background()
	logFile := filepath.Join(home, "state", "sithseid", "log", "sithseid.log")

	var stderr bytes.Buffer
	url := oob.AutoStartURL("0b7a4a8c-5c4e-4d2f-9f1e-2b1f3c4d5e6f", "")
	if code := cli.Handoff(ctx, cli.Env{Getenv: getenv, Stderr: &stderr, LogToFile: true}, url); code != cli.ExitOK {
		t.Fatalf("handoff: exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), "login handed to the agent") {
		t.Fatalf("the log file has no line of the handoff (%v):\n%s", err, b)
	}

	stderr.Reset()
	if code := cli.Handoff(ctx, cli.Env{Getenv: getenv, Stderr: &stderr, LogToFile: true}, "sithseid:///?nothing=1"); code != cli.ExitUsage {
		t.Fatalf("bad link: exit %d: %s", code, stderr.String())
	}
	en, _, _ := usertext.Explain(l10n.MustLoad(l10n.English), app.ErrBadLink)
	sv, _, _ := usertext.Explain(l10n.MustLoad(l10n.Swedish), app.ErrBadLink)
	if en == sv || !strings.Contains(stderr.String(), en) {
		t.Errorf("the bad link's message is not the configured language's (English %q):\n%s", en, stderr.String())
	}
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "handoff failed") {
		t.Errorf("the log file has no line of the failed handoff:\n%s", b)
	}
}
