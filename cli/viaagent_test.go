package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/piv"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testpki"
)

// With an agent in the session, the CLI is its client: the PIN prompt is
// answered here and crosses the local API; the card operation runs in the
// agent. The results are the same as in-process.
func TestCommandsThroughAgent(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	runtime := filepath.Join(t.TempDir(), "run")
	addr, err := app.AgentAddressEnv(func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return runtime
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cache := cardreader.NewIdentityCache(8)
	svc, err := app.NewService(app.Options{
		Backends: []cardreader.Backend{piv.New(piv.Options{Cache: cache})},
		Readers:  cardreader.ListReaders,
		Cache:    cache,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.NewAgent(app.AgentOptions{Service: svc, Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	run := func(stdin string, args ...string) result {
		t.Helper()
		var out, errb bytes.Buffer
		env := map[string]string{"LANG": "sv_SE.UTF-8", "XDG_RUNTIME_DIR": runtime}
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
	wantCode(t, run("123456\n24681357\n", "pin", "change", "--pin-stdin"), 0)
	r = run("123456\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	wantIn(t, r.stderr, "2 försök kvar")
	// The wrong PIN was the agent's operation: it published it.
	if le := a.State().LastError; le == nil || le.Method != "pin.change" {
		t.Fatalf("agent's last error %+v: the change did not go through the agent", le)
	}
	if c := onlyCard(t, status(t)); c.PIN.Retries != 2 {
		t.Fatalf("in-process view after agent ops: %+v", c.PIN)
	}
}
