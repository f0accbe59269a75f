package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// The login chain of issue 4 with the shipped binaries only, as an
// integrator scripts it: sithseid-idp serve; sithseid-idp rp auth prints the
// order and its autostart URL; sithseid login URL --pin-stdin completes it
// with the card; sithseid-idp rp collect shows "complete" with the card's
// HSA-ID. It also runs main.go's dispatch of a lone sithseid: argument
// typed in no terminal: the handoff to an agent. On every kind of card,
// told to the binary by its environment alone (k.Env): the login and the
// agent the handoff starts reach the card through the kind's backend.
func TestBinaryLoginChain(t *testing.T) {
	bin := sithseidBinary(t)
	idpBin := filepath.Join(filepath.Dir(bin), "sithseid-idp")
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	serve := exec.CommandContext(ctx, idpBin, "serve", "--listen", "127.0.0.1:0", "--state", state)
	serve.Env = append(os.Environ(), "HOME="+t.TempDir())
	logf, err := os.Create(filepath.Join(t.TempDir(), "idp.log"))
	if err != nil {
		t.Fatal(err)
	}
	serve.Stdout, serve.Stderr = logf, logf
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	var url string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(state, "url")); err == nil && len(b) > 0 {
			url = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("sithseid-idp did not start:\n%s", out)
		}
	}

	idp := func(t *testing.T, args ...string) []byte {
		t.Helper()
		c := exec.CommandContext(ctx, idpBin, append(args, "--state", state)...)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("sithseid-idp %v: %v\n%s", args, err, out)
		}
		return out
	}
	// One identity service for every kind: each runs an order of its own.
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		testBinaryLoginChain(ctx, t, k, bin, url, func(args ...string) []byte { t.Helper(); return idp(t, args...) })
	})
}

func testBinaryLoginChain(ctx context.Context, t *testing.T, k cardkind.Kind, bin, url string, idp func(args ...string) []byte) {
	rigCard(t, k)
	var order struct {
		OrderRef     string `json:"orderRef"`
		AutoStartURL string `json:"autoStartUrl"`
	}
	if err := json.Unmarshal(idp("rp", "auth", "--text", "Logga in i journalen"), &order); err != nil {
		t.Fatal(err)
	}
	if order.OrderRef == "" || !strings.HasPrefix(order.AutoStartURL, "sithseid:///?autostarttoken=") {
		t.Fatalf("rp auth: %+v", order)
	}

	home := t.TempDir()
	// The rig's environment first: a later entry wins, and the home and
	// the backend must.
	env := append(rig.Require(t).Env(), "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config", "XDG_STATE_HOME="+home+"/.state",
		"XDG_CACHE_HOME="+home+"/.cache", "LANG=sv_SE.UTF-8", "LC_ALL=", "SITHSEID_NO_AGENT=1")
	env = append(env, k.Env()...)
	login := exec.CommandContext(ctx, bin, "login", order.AutoStartURL, "--pin-stdin", "--env", "DEMO", "--service", url)
	login.Env = env
	login.Stdin = strings.NewReader(testPIN + "\n")
	out, err := login.CombinedOutput()
	if err != nil {
		t.Fatalf("sithseid login: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Inloggad hos Journalsystemet Demo som "+testpki.DefaultHSAID) {
		t.Errorf("sithseid login says:\n%s", out)
	}

	var collect struct {
		Status         string `json:"status"`
		CompletionData struct {
			User struct {
				HSAID string `json:"hsaId"`
			} `json:"user"`
		} `json:"completionData"`
	}
	if err := json.Unmarshal(idp("rp", "collect", order.OrderRef), &collect); err != nil {
		t.Fatal(err)
	}
	if collect.Status != "complete" || collect.CompletionData.User.HSAID != testpki.DefaultHSAID {
		t.Fatalf("rp collect: %+v", collect)
	}

	// The same link again: spent. main.go turns a lone sithseid: argument
	// typed in no terminal into a handoff, which starts this session's
	// agent and returns at once with success: the agent then owns it.
	run := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	hand := exec.CommandContext(ctx, bin, order.AutoStartURL)
	hand.Env = append(env, "XDG_RUNTIME_DIR="+run, "SITHSEID_NO_AGENT=", "DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=")
	if out, err := hand.CombinedOutput(); err != nil {
		t.Fatalf("the URL handler: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		for _, pid := range processesWithEnv("XDG_RUNTIME_DIR=" + run) {
			_ = killPID(pid)
		}
	})
	sock := filepath.Join(run, "sithseid", "agent.sock")
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no agent socket after the handoff: %v", err)
	}
	st := exec.CommandContext(ctx, bin, "status", "--json")
	st.Env = append(env, "XDG_RUNTIME_DIR="+run, "SITHSEID_NO_AGENT=")
	sout, err := st.Output()
	if err != nil {
		t.Fatalf("status through the agent: %v\n%s", err, sout)
	}
	sc := bufio.NewScanner(strings.NewReader(string(sout)))
	found := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), testpki.DefaultHSAID) {
			found = true
		}
	}
	if !found {
		t.Errorf("status through the handed-off agent lacks the HSA-ID:\n%s", sout)
	}
	// The agent itself (its socket: the CLI would answer in-process were
	// there none) reads the card through the kind's backend: the handoff
	// passed the environment on to the agent it started.
	c, err := localapi.DialAddress(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	as, err := c.Status(ctx, app.StatusOptions{})
	if err != nil || len(as.Cards) != 1 || as.Cards[0].Backend != k.Backend {
		t.Fatalf("the handed-off agent's card, want it through %q: %v %+v", k.Backend, err, as)
	}
}
