package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
	"github.com/sithseid/sithseid/ui/tray"
)

// envTrayMain makes the test binary run as sithseid with its log on
// standard error (the tray tests read why the agent has or has not a
// tray). Like envMain, it is checked before TestMain starts a pcscd.
const envTrayMain = "SITHSEID_CLI_TEST_TRAY_MAIN"

// syncBuf is an agent's output, read while it writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// agentProc is "sithseid agent --foreground" as its own process (this
// test binary), in a session of the test's making.
type agentProc struct {
	cmd    *exec.Cmd
	out    *syncBuf
	addr   string
	runDir string
	home   string
	exited chan struct{}
	err    error
}

// startAgentProc runs the agent with env on top of this process's
// environment (the rig's PCSCLITE_CSOCK_NAME among it).
func startAgentProc(t *testing.T, env map[string]string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{out: &syncBuf{}, runDir: t.TempDir(), home: t.TempDir(), exited: make(chan struct{})}
	p.addr = filepath.Join(p.runDir, "sithseid", "agent.sock")
	p.cmd = exec.Command(os.Args[0], append([]string{"agent", "--foreground", "--socket", p.addr}, args...)...)
	base := map[string]string{
		envTrayMain:       "1",
		"XDG_RUNTIME_DIR": p.runDir,
		"HOME":            p.home, // the user's preferences: none yet
		"XDG_CONFIG_HOME": "",
		"LANG":            "sv_SE.UTF-8",
		"LC_ALL":          "",
		"SITHSEID_ENV":    "",
	}
	for k, v := range env {
		base[k] = v
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := base[k]; !ok {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	for k, v := range base {
		if v != "" {
			p.cmd.Env = append(p.cmd.Env, k+"="+v)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", p.out.String())
		}
	})
	// Up when it answers on its socket.
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := localapi.DialAddress(ctx, p.addr); err == nil {
			_, err = c.Ping(ctx)
			c.Close()
			if err == nil {
				break
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("agent exited at start (%v):\n%s", p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not answer within 10 s:\n%s", p.out.String())
		}
	}
	return p
}

// waitLog waits for the agent to log s.
func (p *agentProc) waitLog(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.out.String(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("agent did not log %q within 10 s:\n%s", s, p.out.String())
		}
	}
}

// windows is the test's SITHSEID_UI_COMMAND: a script that records each
// launch ("PID ARGS") and stays open, as a window does, until killed.
type windows struct {
	script, log string
}

func newWindows(t *testing.T) *windows {
	dir := t.TempDir()
	w := &windows{script: filepath.Join(dir, "sithseid-ui"), log: filepath.Join(dir, "launches")}
	body := "#!/bin/sh\necho \"$$ $*\" >> '" + w.log + "'\nexec sleep 600\n"
	if err := os.WriteFile(w.script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, l := range w.launches() {
			if pid, err := strconv.Atoi(l[0]); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return w
}

// launches are the recorded launches, each [pid, view, args...].
func (w *windows) launches() [][]string {
	b, _ := os.ReadFile(w.log)
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, strings.Fields(l))
		}
	}
	return out
}

func (w *windows) count(args string) int {
	n := 0
	for _, l := range w.launches() {
		if strings.Join(l[1:], " ") == args {
			n++
		}
	}
	return n
}

// wait waits for the n-th launch of args and returns its pid.
func (w *windows) wait(t *testing.T, args string, n int) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		seen := 0
		for _, l := range w.launches() {
			if strings.Join(l[1:], " ") == args {
				if seen++; seen == n {
					pid, _ := strconv.Atoi(l[0])
					return pid
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no launch %d of %q within 10 s; launches: %v", n, args, w.launches())
		}
	}
}

// The tray over D-Bus, as a panel drives it: the agent waits for a tray
// host, registers its StatusNotifierItem when one comes, and its
// com.canonical.dbusmenu menu lists the Swedish entries with the card
// holder; clicks (found by label) open windows through the launcher, one
// per view; a login handed over opens the approval window and a
// notification; the environment menu writes the preference; pulling the
// card changes menu and icon; Avsluta stops the agent. On every kind of
// card: the menu and the states are the same whichever backend serves it.
func TestTrayOverDBus(t *testing.T) {
	cardkind.Run(t, trayOverDBus)
}

// trayOverDBus is TestTrayOverDBus for one kind of card: the agent is the
// shipped binary's, told the kind's backend by its environment.
func trayOverDBus(t *testing.T, k cardkind.Kind) {
	card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
	bus := dbustest.SessionBus(t)
	host := dbustest.NewHost(t, bus)
	host.ServeNotifications(t)
	win := newWindows(t)
	env := map[string]string{
		"DBUS_SESSION_BUS_ADDRESS": bus,
		agent.EnvUICommand:         win.script,
	}
	for _, kv := range k.Env() {
		name, v, _ := strings.Cut(kv, "=")
		env[name] = v
	}
	agent := startAgentProc(t, env)
	pid := agent.cmd.Process.Pid
	itemName := dbustest.ItemName(pid)

	// No watcher yet (stock GNOME): no item, the agent says why and works.
	agent.waitLog(t, "no StatusNotifierWatcher")
	if host.HasName(t, itemName) {
		t.Fatal("item on the bus without a watcher")
	}
	// A panel comes up: the item registers with it.
	host.ServeWatcher(t)
	host.WaitFor(t, "the item to register with the watcher", func() bool { return len(host.Items()) > 0 })
	tc := dbustest.NewTray(t, bus, pid)

	holder := testpki.DefaultGivenName + " " + testpki.DefaultSurname
	wantLabels := []string{holder, testpki.DefaultHSAID, "Logga in med mobilen (QR)", "Byt PIN-kod", "Lås upp med PUK-kod",
		"Certifikat", "Miljö: PROD", "Inställningar", "Om SITHS eID / Diagnostik", "Avsluta"}
	wantEnabled := map[string]bool{holder: false, testpki.DefaultHSAID: false, "Logga in med mobilen (QR)": false,
		"Byt PIN-kod": true, "Lås upp med PUK-kod": true, "Certifikat": true, "Avsluta": true}
	// The tray updates its entries one by one as the card's state comes
	// in: wait for the whole menu of a ready card, then check it.
	m := tc.Until(t, "the menu of a ready card", func(m dbustest.MenuItem) bool {
		if !slices.Equal(m.Labels(), wantLabels) {
			return false
		}
		if _, env := m.Find("DEMO"); !env {
			return false
		}
		for label, enabled := range wantEnabled {
			if it, _ := m.Find(label); it.Enabled() != enabled {
				return false
			}
		}
		return true
	})
	envMenu, _ := m.Find("Miljö: PROD")
	var envs []string
	for _, c := range envMenu.Children {
		envs = append(envs, c.Label())
		if c.Checked() != (c.Label() == "PROD") {
			t.Errorf("environment %s checked %v", c.Label(), c.Checked())
		}
	}
	if !slices.Equal(envs, tray.Environments) {
		t.Errorf("environment choices %q", envs)
	}
	// The test PKI's card is a TEST card (its issuer says TEST) and the
	// app is in PROD: the tray says so before "ready", with the attention
	// badge (issue 17: a warning when the card's environment differs from
	// the app's; ui/tray TestBuildWarnsWrongCardEnvironment has the ready
	// case).
	wait.For(t, 10*time.Second, "the test card's tooltip in PROD", func() bool {
		return tc.Tooltip(t) == "SITHS eID: det här är ett testkort, men SITHS eID använder produktion (PROD)"
	})
	wait.For(t, 10*time.Second, "the attention icon", func() bool { return tc.IconIs(t, tray.IconData(tray.IconExpiring)) })

	// "Byt PIN-kod" opens the PIN window; a second click while it is open
	// opens none; clicks are handled in order, so once "Certifikat"'s
	// window is up the second PIN click has been dealt with.
	tc.Click(t, m, "Byt PIN-kod")
	pinPID := win.wait(t, "pin", 1)
	tc.Click(t, m, "Byt PIN-kod")
	tc.Click(t, m, "Certifikat")
	win.wait(t, "certs", 1)
	if n := win.count("pin"); n != 1 {
		t.Fatalf("%d PIN windows for two clicks while one is open", n)
	}
	// Closed, it opens again.
	_ = syscall.Kill(pinPID, syscall.SIGKILL)
	// (The agent reaps the killed window a moment later: until then a
	// click still finds it open.)
	for deadline := time.Now().Add(10 * time.Second); win.count("pin") < 2; time.Sleep(50 * time.Millisecond) {
		tc.Click(t, m, "Byt PIN-kod")
		if time.Now().After(deadline) {
			t.Fatal("the PIN window did not open again after it closed")
		}
	}

	// A left click (Activate) opens the status window; the menu is on the
	// other button.
	if call := host.Conn.Object(itemName, "/StatusNotifierItem").Call("org.kde.StatusNotifierItem.Activate", 0, int32(0), int32(0)); call.Err != nil {
		t.Fatalf("Activate: %v", call.Err)
	}
	win.wait(t, "status", 1)
	if isMenu, _ := tc.Prop(t, "ItemIsMenu").Value().(bool); isMenu {
		t.Error("ItemIsMenu is true: a left click would not open the status window")
	}

	// A login handed over by the URL handler: the approval window for that
	// request, a notification, and the QR entry for it.
	var errb bytes.Buffer
	url := oob.AutoStartURL("0b7a4a8c-5c4e-4d2f-9f1e-2b1f3c4d5e6f", "")
	henv := map[string]string{"XDG_RUNTIME_DIR": agent.runDir}
	if code := cli.Handoff(context.Background(), cli.Env{Getenv: func(k string) string { return henv[k] }, Stderr: &errb}, url); code != cli.ExitOK {
		t.Fatalf("handoff: exit %d: %s", code, errb.String())
	}
	c, err := localapi.DialAddress(context.Background(), agent.addr)
	if err != nil {
		t.Fatal(err)
	}
	// The agent reads the card through the kind's backend.
	if st, err := c.Status(context.Background(), app.StatusOptions{}); err != nil || len(st.Cards) != 1 || st.Cards[0].Backend != k.Backend {
		t.Fatalf("the agent's status, want one card via %q: %+v %v", k.Backend, st, err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	events, err := c.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	first := wait.Recv(t, events, 10*time.Second, "the first event")
	scancel()
	c.Close()
	if first.State == nil || len(first.State.Handoffs) != 1 {
		t.Fatalf("agent state after the handoff: %+v", first)
	}
	hs := first.State.Handoffs
	win.wait(t, "login --handoff "+hs[0].ID, 1)
	note, next := host.Notification(t, "Inloggning begärd", 0)
	if !strings.Contains(note.Body, "godkänn") {
		t.Errorf("login notification %+v", note)
	}
	m = tc.Until(t, "the QR entry enabled", func(m dbustest.MenuItem) bool {
		it, _ := m.Find("Logga in med mobilen (QR)")
		return it.Enabled()
	})
	tc.Click(t, m, "Logga in med mobilen (QR)")
	win.wait(t, "qr --handoff "+hs[0].ID, 1)

	// The environment menu: the choice is the user's preference and the
	// menu says it.
	tc.Click(t, m, "DEMO")
	m = tc.Until(t, "Miljö: DEMO with DEMO checked", func(m dbustest.MenuItem) bool {
		demo, _ := m.Find("DEMO")
		prod, _ := m.Find("PROD")
		_, ok := m.Find("Miljö: DEMO")
		return ok && demo.Checked() && !prod.Checked()
	})
	prefs, err := os.ReadFile(filepath.Join(agent.home, ".config", "sithseid", "config.json"))
	if err != nil || !strings.Contains(string(prefs), `"DEMO"`) {
		t.Fatalf("user preferences after picking DEMO: %s %v", prefs, err)
	}
	note, next = host.Notification(t, "Miljö bytt", next)
	if !strings.Contains(note.Body, "DEMO") {
		t.Errorf("environment notification %+v", note)
	}

	// The card goes: the menu, the tooltip and the icon say so, and so
	// does a notification.
	card.Pull(t)
	m = tc.Until(t, "Inget kort", func(m dbustest.MenuItem) bool { _, ok := m.Find("Inget kort"); return ok })
	if it, _ := m.Find("Byt PIN-kod"); it.Enabled() {
		t.Error("Byt PIN-kod enabled without a card")
	}
	if _, ok := m.Find(holder); ok {
		t.Error("the holder is still shown without a card")
	}
	if tip := tc.Tooltip(t); tip != "SITHS eID: inget kort i läsaren" {
		t.Errorf("tooltip without a card %q", tip)
	}
	if !tc.IconIs(t, tray.IconData(tray.IconNoCard)) {
		t.Error("icon is not the no-card one")
	}
	note, _ = host.Notification(t, "SITHS-kort borttaget", next)
	if !strings.Contains(note.Body, card.Reader) {
		t.Errorf("removal notification %+v", note)
	}

	// Only what was clicked or handed over opened a window: no window for
	// a card going in or out, none unasked.
	var views []string
	for _, l := range win.launches() {
		views = append(views, l[1])
	}
	if want := []string{"pin", "certs", "pin", "status", "login", "qr"}; !slices.Equal(views, want) {
		t.Errorf("windows opened %q, want %q", views, want)
	}

	// Avsluta: the agent stops cleanly, its socket and its item go.
	tc.Click(t, m, "Avsluta")
	select {
	case <-agent.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop within 10 s of Avsluta")
	}
	if agent.err != nil {
		t.Fatalf("agent exit after Avsluta: %v\n%s", agent.err, agent.out.String())
	}
	if _, err := os.Stat(agent.addr); !os.IsNotExist(err) {
		t.Fatalf("socket left after Avsluta: %v", err)
	}
	if host.HasName(t, itemName) {
		t.Fatal("item still on the bus after Avsluta")
	}
}

// Without a session bus, or with one that does not answer, the agent runs
// without a tray, says why, and stops cleanly on SIGTERM (systray panics
// when it quits without a bus: it is never started then).
func TestAgentWithoutSessionBus(t *testing.T) {
	for name, bus := range map[string]string{"unset": "", "dead": "unix:path=" + filepath.Join(t.TempDir(), "nobus")} {
		t.Run(name, func(t *testing.T) {
			agent := startAgentProc(t, map[string]string{"DBUS_SESSION_BUS_ADDRESS": bus})
			agent.waitLog(t, "no tray icon; the agent runs without one")
			if err := agent.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-agent.exited:
			case <-time.After(10 * time.Second):
				t.Fatal("no exit within 10 s of SIGTERM")
			}
			if agent.err != nil || strings.Contains(agent.out.String(), "panic") {
				t.Fatalf("exit %v:\n%s", agent.err, agent.out.String())
			}
		})
	}
}

// benchTray: with SITHSEID_BENCH_TRAY=1, the idle benchmark's agent shows
// its tray on the session bus the benchmark runs under
// ("dbus-run-session -- env SITHSEID_BENCH_TRAY=1 go test -run '^$'
// -bench AgentIdle -benchtime 1x ./cli"): a fake panel takes the
// StatusNotifierWatcher's name before the agent starts. The returned func
// waits until the agent's item is on the bus; nil without the variable.
func benchTray(b *testing.B) func(pid int) {
	if os.Getenv("SITHSEID_BENCH_TRAY") != "1" {
		return nil
	}
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		b.Fatal("SITHSEID_BENCH_TRAY=1 needs a session bus: run under dbus-run-session")
	}
	host := dbustest.NewHost(b, addr)
	host.ServeWatcher(b)
	host.ServeNotifications(b)
	return func(pid int) {
		host.WaitFor(b, "the agent's tray item", func() bool { return host.HasName(b, dbustest.ItemName(pid)) })
		fmt.Printf("BENCH agent_idle_tray 1 bool\n")
	}
}

// --no-tray: no icon even where a panel waits for one; the agent works.
func TestAgentNoTrayFlag(t *testing.T) {
	bus := dbustest.SessionBus(t)
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)
	agent := startAgentProc(t, map[string]string{"DBUS_SESSION_BUS_ADDRESS": bus}, "--no-tray")
	agent.waitLog(t, "no tray icon: --no-tray")
	if host.HasName(t, dbustest.ItemName(agent.cmd.Process.Pid)) || len(host.Items()) > 0 {
		t.Fatalf("a tray item with --no-tray: %v", host.Items())
	}
}
