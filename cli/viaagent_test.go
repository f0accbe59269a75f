package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
)

// With an agent in the session, the CLI is its client: the PIN prompt is
// answered here and crosses the local API; the card operation runs in the
// agent. The results are the same as in-process, on every kind of card
// (the agent's service reaches the card as the kind says; the CLI has the
// kind's backend settings in its environment, so it goes to the agent).
func TestCommandsThroughAgent(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
		runtime := filepath.Join(t.TempDir(), "run")
		addr, err := localapi.Address(func(k string) string {
			if k == "XDG_RUNTIME_DIR" {
				return runtime
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := agenttest.StartAgent(t, agent.Options{Service: agenttest.Service(t, k), Address: addr})

		env := map[string]string{"LANG": "sv_SE.UTF-8", "XDG_RUNTIME_DIR": runtime}
		for _, kv := range k.Env() {
			name, v, _ := strings.Cut(kv, "=")
			env[name] = v
		}
		run := func(stdin string, args ...string) result {
			t.Helper()
			var out, errb bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := cli.Run(ctx, cli.Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
				Getenv: func(k string) string { return env[k] }})
			return result{out.String(), errb.String(), code}
		}
		r := run("", "status", "--json")
		wantCode(t, r, 0)
		var st app.Status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Cards) != 1 || st.Cards[0].Holder.HSAID != testpki.DefaultHSAID {
			t.Fatalf("status via agent: %v %s", err, r.stdout)
		}
		if c := st.Cards[0]; c.Backend != k.Backend || len(c.Certificates) != k.Certificates {
			t.Fatalf("status via agent: backend %q, %d certificates", c.Backend, len(c.Certificates))
		}
		wantCode(t, run("123456\n24681357\n", "pin", "change", "--pin-stdin"), 0)
		r = run("123456\n97531864\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitWrongPIN)
		wantIn(t, r.stderr, "2 försök kvar")
		// The wrong PIN was the agent's operation: it published it.
		if le := a.State().LastError; le == nil || le.Method != "pin.change" {
			t.Fatalf("agent's last error %+v: the change did not go through the agent", le)
		}
		kindCLI{k}.wantRetries(t, card, 2, "in-process view after agent ops")
	})
}
