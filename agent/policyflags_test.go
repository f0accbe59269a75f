package agent_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/startup"
)

// A flag or variable given to the agent for a setting policy locks is
// ignored (the policy's value stands) and the agent says so in its log,
// one line each; a flag equal to the policy's value, or for a setting
// policy does not lock, is not logged (issue 14 item 6). The agent is
// asked to start where one already listens, so it stops there, after
// reading its command line.
func TestAgentLogsFlagsPolicyOverrules(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"backend": "idprime", "language": "sv"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	restore := startup.SetPolicyForTest(policy, "")
	defer restore()
	addr := filepath.Join(dir, "run", "agent.sock")
	if err := os.Mkdir(filepath.Dir(addr), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", addr) // "an agent is running"
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	home := filepath.Join(dir, "home")
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		want, not []string
	}{
		{"locked flags", []string{"--backend", "pkcs11", "--lang", "en"}, nil,
			[]string{`"flag":"--backend"`, `"key":"backend"`, `"value":"idprime"`, `"flag":"--lang"`, `"key":"language"`}, nil},
		{"locked variable", nil, map[string]string{"SITHSEID_BACKEND": "piv"},
			[]string{`"variable":"SITHSEID_BACKEND"`}, nil},
		{"the policy's own values", []string{"--backend", "idprime", "--lang", "sv"}, nil,
			nil, []string{"ignored"}},
		{"an unlocked flag", []string{"--pkcs11-module", "/usr/lib/x.so"}, nil,
			nil, []string{"ignored"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logb bytes.Buffer
			env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": home, "LANG": "en_US.UTF-8"}
			for k, v := range tc.env {
				env[k] = v
			}
			var stderr bytes.Buffer
			code := agent.Run(context.Background(), agent.Env{
				Args:   append([]string{"--socket", addr}, tc.args...),
				Stdout: &stderr, Stderr: &stderr,
				Getenv: func(k string) string { return env[k] },
				Log:    slog.New(slog.NewJSONHandler(&logb, nil)),
			})
			if code != exitcode.AgentRunning {
				t.Fatalf("exit %d, want %d (an agent is running): %s", code, exitcode.AgentRunning, stderr.String())
			}
			got := logb.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("log lacks %s:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("log has %q:\n%s", n, got)
				}
			}
			if strings.Contains(stderr.String(), "ignored") {
				t.Errorf("the agent wrote to stderr: %s", stderr.String())
			}
		})
	}
}
