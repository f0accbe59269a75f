//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/mutesock"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// A socket that takes the connection while no agent answers on it (a
// wedged or stopped agent): the PIN change, whose call went out beside
// the ping (localapi.Client.Probe, issue 17), runs in this process once
// the agent's second is up, and is done once: the agent got the ping and
// the call, never a PIN, and then the connection's end.
func TestPINChangeAgentAnswersNothing(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	home := t.TempDir()
	dir := filepath.Join(home, "run", "sithseid")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	got := mutesock.Listen(t, filepath.Join(dir, "agent.sock"), 30*time.Second)

	env := map[string]string{
		"HOME": home, "LANG": "sv_SE.UTF-8",
		"XDG_RUNTIME_DIR": filepath.Join(home, "run"),
		"XDG_STATE_HOME":  filepath.Join(home, "state"),
		"XDG_CONFIG_HOME": filepath.Join(home, "config"),
	}
	var out, errb strings.Builder
	code := cli.Run(t.Context(), cli.Env{
		Args: []string{"pin", "change", "--pin-stdin"}, Stdin: strings.NewReader("123456\n24681357\n"),
		Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Version: "test",
	})
	r := result{out.String(), errb.String(), code}
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "PIN-koden är bytt")
	if n, _ := card.State.PINRetries(); n != 3 {
		t.Errorf("PIN tries left %d, want 3 (one change, with the right PIN)", n)
	}
	select {
	case lines := <-got:
		if len(lines) != 2 || !strings.Contains(lines[0], `"method":"ping"`) || !strings.Contains(lines[1], `"method":"pin.change"`) {
			t.Errorf("the socket read %q, want the ping, the call, then the end", lines)
		}
		for _, l := range lines {
			if strings.Contains(l, "secret") || strings.Contains(l, "24681357") || strings.Contains(l, "123456") {
				t.Errorf("a secret went to the socket: %q", l)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the socket never saw the CLI's end")
	}
	// The PIN is the new one: a change back in this process takes it.
	r = sithseid(t, "sv_SE.UTF-8", "24681357\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, 0)
}
