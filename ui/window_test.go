//go:build linux

package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// These tests run "sithseid ui VIEW" as its own process, a real Fyne
// window under Xvfb, against an agent in the test binary (a private
// pcscd and a virtual card from internal/testkit/rig), and drive it with xdotool.
// The flows the card takes part in (PIN change, login approval) run on
// every kind of card (internal/testkit/cardkind); the others are about the window
// itself and use the PIV card.
func TestMain(m *testing.M) { os.Exit(desktoptest.Main(m, rig.Main)) }

// dieWithTest makes a child (Xvfb, a window) end with the test binary.
func dieWithTest() *syscall.SysProcAttr { return desktoptest.DieWithTest() }

// need finds tools: on CI a missing one fails the test (scripts/setup
// installs them), on a developer's machine it skips.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testenv.LookPath(t, tool)
	}
}

// sithseid is the product's binary, built once per test binary, with the
// windows' sithseid-ui beside it ("sithseid ui VIEW" runs it).
func sithseid(t *testing.T) string { return desktoptest.Sithseid(t) }

// sithseidUI is the windows' executable, what the agent starts.
func sithseidUI(t *testing.T) string { return desktoptest.SithseidUI(t) }

// display is a private X server.
type display struct {
	name string
	env  []string
}

// startX runs Xvfb until the test ends.
func startX(t *testing.T) *display {
	t.Helper()
	need(t, "Xvfb", "xdotool", "import")
	x := desktoptest.StartXvfb(t)
	return &display{name: x.Name, env: x.Env()}
}

// startXScreen is startX with a screen of width×height pixels.
func startXScreen(t *testing.T, width, height int) *display {
	t.Helper()
	need(t, "Xvfb", "xdotool", "import")
	x := desktoptest.StartXvfbScreen(t, width, height)
	return &display{name: x.Name, env: x.Env()}
}

func (d *display) ready() bool {
	cmd := exec.Command("xdotool", "getdisplaygeometry")
	cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
	return cmd.Run() == nil
}

// search lists the visible windows of the product.
func (d *display) search() string {
	cmd := exec.Command("xdotool", "search", "--onlyvisible", "--name", "SITHS eID")
	cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
	out, _ := cmd.Output()
	return string(out)
}

// xdo runs xdotool on the display.
func (d *display) xdo(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// testAgent is an agent in this process with a fresh virtual card.
type testAgent struct {
	agent  *agent.Agent
	addr   string
	client *localapi.Client
	card   *rig.Card
	url    string
	rp     *oob.RPClient
}

const rpKey = "ui-window-test-relying-party-key-0123"

// startAgent inserts a fresh card of kind k and starts an agent that
// reaches it as the product does for that kind.
func startAgent(t *testing.T, k cardkind.Kind, spec testpki.CardSpec) *testAgent {
	t.Helper()
	c := k.Insert(t, 0, spec, vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
	env := agenttest.DemoEnvironment(t, is.URL)
	// These tests hand over logins faster than a person would (the
	// screenshots take several in a row): the rate limit, tested in
	// package agent, is lifted.
	a, addr := agenttest.StartAgent(t, agent.Options{Service: agenttest.Service(t, k), Environment: env, Version: "test", HandoffBurst: 100})
	return &testAgent{agent: a, addr: addr, client: agenttest.Dial(t, addr), card: c, url: is.URL, rp: is.RP}
}

// handOver starts an order and queues its link at the agent.
func (a *testAgent) handOver(t *testing.T, text string) (*oob.AuthResponse, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := a.rp.Auth(ctx, "127.0.0.1", text, "")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := a.client.Handoff(ctx, oob.AutoStartURL(o.AutoStartToken, ""))
	if err != nil {
		t.Fatal(err)
	}
	return o, rec.ID
}

func (a *testAgent) pin(t *testing.T) app.SecretStatus {
	t.Helper()
	return a.status(t).PIN
}

// status is the agent's one card.
func (a *testAgent) status(t *testing.T) app.CardStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := a.client.Status(ctx, app.StatusOptions{})
	if err != nil || len(st.Cards) != 1 {
		t.Fatalf("status: %v %+v", err, st)
	}
	return st.Cards[0]
}

// wantBackend fails t unless the agent reaches its card through k's
// backend: the flow just run went through the backend under test.
func (a *testAgent) wantBackend(t *testing.T, k cardkind.Kind) {
	t.Helper()
	if c := a.status(t); c.Backend != k.Backend {
		t.Fatalf("the agent reaches the %s card through %q, want %q", k.Name, c.Backend, k.Backend)
	}
}

// window is one "sithseid ui" process.
type window struct {
	cmd    *exec.Cmd
	id     string
	d      *display
	stderr *bytes.Buffer
	done   chan error
}

// openWindow starts "sithseid ui args..." on d in lang, with a HOME of its
// own, and waits for its window.
func openWindow(t *testing.T, d *display, a *testAgent, lang string, extraEnv []string, args ...string) *window {
	t.Helper()
	home := t.TempDir()
	before := map[string]bool{}
	for _, id := range strings.Fields(d.search()) {
		before[id] = true
	}
	cmd := exec.Command(sithseid(t), append(append([]string{"ui"}, args...), "--socket", a.addr)...)
	cmd.Env = append(os.Environ(), d.env...)
	cmd.Env = append(cmd.Env, "LANG="+lang, "LC_ALL=", "LC_MESSAGES=", "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_STATE_HOME="+filepath.Join(home, ".state"), "XDG_RUNTIME_DIR="+filepath.Join(home, "run"), "SITHSEID_ENV=DEMO")
	cmd.Env = append(cmd.Env, extraEnv...)
	w := &window{cmd: cmd, d: d, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = w.stderr
	cmd.SysProcAttr = dieWithTest()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-w.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, id := range strings.Fields(d.search()) {
			if !before[id] {
				w.id = id
			}
		}
		if w.id != "" {
			break
		}
		select {
		case err := <-w.done:
			t.Fatalf("sithseid ui %v exited: %v\n%s", args, err, w.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window of sithseid ui %v within 30 s\n%s", args, w.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Fyne draws its first frame after mapping; once it shows text and
	// widgets, not a blank fill, its event loop runs and takes keys (each
	// view focuses its first field in Start, before the window shows).
	wait.For(t, 30*time.Second, "a drawn frame of sithseid ui", func() bool { return colours(t, d, w.id) > 8 })
	return w
}

// typeText types into the focused widget of the window.
func (w *window) typeText(t *testing.T, s string) {
	t.Helper()
	w.focus(t)
	w.d.xdo(t, "type", "--delay", "40", s)
}

// key presses keys in the window (XTEST, as a keyboard would: there is
// no window manager, so the window gets the input focus first).
func (w *window) key(t *testing.T, keys ...string) {
	t.Helper()
	w.focus(t)
	for _, k := range keys {
		w.d.xdo(t, "key", "--delay", "60", k)
	}
}

func (w *window) focus(t *testing.T) {
	t.Helper()
	w.d.xdo(t, "windowfocus", "--sync", w.id)
}

// shot saves the window's picture.
func (w *window) shot(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("import", "-window", w.id, path)
	cmd.Env = append(os.Environ(), "DISPLAY="+w.d.name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}

// settle waits until the window shows the same picture three times in a
// row, 200 ms apart: what it fetched is drawn and it has shrunk to its
// contents (the QR code turns every second, so three alike fit between
// two turns).
func (w *window) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var prev []byte
	for same := 0; same < 2; {
		shot := filepath.Join(t.TempDir(), "settle.png")
		w.shot(t, shot)
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		pix := []byte(b.String())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				pix = append(pix, byte(r>>8), byte(g>>8), byte(bl>>8))
			}
		}
		if bytes.Equal(pix, prev) {
			same++
		} else {
			same = 0
		}
		prev = pix
		if time.Now().After(deadline) {
			t.Fatalf("the window did not settle within 30 s\n%s", w.stderr)
		}
		time.Sleep(200 * time.Millisecond) // between two pictures
	}
}

// kill ends the process and waits for it.
func (w *window) kill() {
	_ = w.cmd.Process.Kill()
	err := <-w.done
	w.done <- err
}

// waitExit waits for the process to end (its window closed).
func (w *window) waitExit(t *testing.T) {
	t.Helper()
	select {
	case err := <-w.done:
		if err != nil {
			t.Fatalf("sithseid ui: %v\n%s", err, w.stderr)
		}
		w.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatalf("the window did not close\n%s", w.stderr)
	}
}

// The PIN change in a real window, by keyboard only, on every kind of
// card: the first field has the focus, Tab moves on, Enter changes, Enter
// again closes the window and the process exits. (The default cards of
// every kind have one PIN, so the window shows no choice of PIN.)
func TestRealWindowPINChangeByKeyboard(t *testing.T) {
	d := startX(t)
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		testRealWindowPINChangeByKeyboard(t, d, k)
	})
}

func testRealWindowPINChangeByKeyboard(t *testing.T, d *display, k cardkind.Kind) {
	a := startAgent(t, k, testpki.CardSpec{})
	events := subscribe(t, a)
	w := openWindow(t, d, a, "sv_SE.UTF-8", k.Env(), "pin")
	w.typeText(t, a.card.PIN)
	w.key(t, "Tab")
	w.typeText(t, "24681357")
	w.key(t, "Tab")
	w.typeText(t, "24681357")
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodPINChange.Name)
	if st := a.agent.State(); st.LastError != nil {
		t.Fatalf("the change failed: %+v\n%s", st.LastError, w.stderr)
	}
	w.key(t, "Return") // the button is "Stäng" now and has the focus
	w.waitExit(t)
	// The card's PIN is the one typed in the window.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt("24681357", "97531864")); err != nil {
		t.Fatalf("the PIN typed in the window is not the card's: %v", err)
	}
	a.wantBackend(t, k)
}

// subscribe follows the agent's state.
func subscribe(t *testing.T, a *testAgent) <-chan localapi.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := a.client.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// waitOperation waits until the agent has run method and is idle again.
func waitOperation(t *testing.T, events <-chan localapi.Event, method string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	seen := false
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("subscription ended")
			}
			if ev.State == nil {
				continue
			}
			if ev.State.Busy == method {
				seen = true
			} else if seen && ev.State.Busy == "" {
				return
			}
		case <-deadline:
			t.Fatalf("the agent ran no %s within 60 s", method)
		}
	}
}

func fixedPrompt(pin, newPIN string) app.Prompt {
	return func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		if req.Kind == app.PromptNewPIN {
			return cardreader.NewSecret([]byte(newPIN)), nil
		}
		return cardreader.NewSecret([]byte(pin)), nil
	}
}

// Escape closes a window and ends its process.
func TestRealWindowEscapeCloses(t *testing.T) {
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	w := openWindow(t, d, a, "en_US.UTF-8", nil, "status")
	w.key(t, "Escape")
	w.waitExit(t)
}

// TestScreenshots writes docs/screenshots/<view>-<lang>-<theme>.png: every
// view in Swedish and English, light and dark (FYNE_THEME, as the OS would
// say) in a real window, plus the PIN window at 200 % (FYNE_SCALE=2).
// It runs when SITHSEID_SCREENSHOTS names the directory ("make
// screenshots"); the pictures are committed and looked at.
func TestScreenshots(t *testing.T) {
	dir := testenv.OptIn(t, "SITHSEID_SCREENSHOTS", "make screenshots sets it")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A screen that holds a window at 200 % whole (580×440 units are
	// 1160×880 pixels; the default 1280×900 screen cut them off).
	d := startXScreen(t, 2560, 1600)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	langs := map[string]string{"sv": "sv_SE.UTF-8", "en": "en_US.UTF-8"}
	themes := []string{"light", "dark"}
	shoot := func(name, lang string, extra []string, prepare func(w *window), args ...string) {
		t.Helper()
		for _, th := range themes {
			w := openWindow(t, d, a, langs[lang], append([]string{"FYNE_THEME=" + th}, extra...), args...)
			if prepare != nil {
				prepare(w)
			}
			w.settle(t) // the card read and the window shrunk to it
			w.shot(t, filepath.Join(dir, name+"-"+lang+"-"+th+".png"))
			w.kill()
		}
	}
	typePINs := func(w *window) {
		w.typeText(t, a.card.PIN)
		w.key(t, "Tab")
		w.typeText(t, "123456")
	}
	for _, lang := range []string{"sv", "en"} {
		shoot("status", lang, nil, nil, "status")
		shoot("pin", lang, nil, typePINs, "pin")
		shoot("certs", lang, nil, nil, "certs")
		shoot("settings", lang, nil, nil, "settings")
		// A home as a user's (the diagnostics file's default path is in
		// it), not the test's temporary directory.
		shoot("about", lang, []string{"HOME=/home/anna"}, nil, "about")
		for _, th := range []string{"light", "dark"} {
			themes = []string{th} // a login order per window
			_, id := a.handOver(t, "Logga in i journalen på Avdelning 12")
			shoot("login", lang, nil, nil, "login", "--handoff", id)
			_, id = a.handOver(t, "Logga in i journalen på Avdelning 12")
			shoot("qr", lang, nil, nil, "qr", "--handoff", id)
		}
		themes = []string{"light", "dark"}
	}
	shoot("pin-200pct", "sv", []string{"FYNE_SCALE=2"}, typePINs, "pin")
	shoot("status-200pct", "en", []string{"FYNE_SCALE=2"}, nil, "status")
	// Unblock is for a blocked PIN: three wrong tries first.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 3 {
		_ = a.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt("000000", "24681357"))
	}
	for _, lang := range []string{"sv", "en"} {
		shoot("unblock", lang, nil, nil, "unblock")
	}
}

// The QR code in the real window decodes (zbarimg, as a phone's camera
// would) to the order's current animated code: the service's token, a
// time, and the HMAC of that time under the order's secret.
func TestRealWindowQRDecodes(t *testing.T) {
	need(t, "zbarimg")
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	o, id := a.handOver(t, "Logga in med mobilen")
	w := openWindow(t, d, a, "sv_SE.UTF-8", nil, "qr", "--handoff", id)
	shot := filepath.Join(t.TempDir(), "qr.png")
	w.shot(t, shot)
	out, err := exec.Command("zbarimg", "--quiet", "--raw", shot).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code in the window: %v", err)
	}
	payload := strings.TrimSpace(string(out))
	parts := strings.Split(payload, ".")
	if len(parts) != 4 || parts[0] != "sithseid" || parts[1] != o.QRStartToken {
		t.Fatalf("decoded %q, want sithseid.%s.<t>.<mac>", payload, o.QRStartToken)
	}
	var sec int
	if _, err := fmt.Sscan(parts[2], &sec); err != nil {
		t.Fatalf("time in %q: %v", payload, err)
	}
	if want := oob.QRPayload(o.QRStartToken, o.QRStartSecret, sec); payload != want {
		t.Fatalf("decoded %q, want %q", payload, want)
	}
	w.key(t, "Escape")
	w.waitExit(t)
}

// A login approved in the real window, on every kind of card: the PIN
// typed with the keyboard (xdotool) completes the relying party's order
// with the card.
func TestRealWindowLoginApproval(t *testing.T) {
	d := startX(t)
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		testRealWindowLoginApproval(t, d, k)
	})
}

func testRealWindowLoginApproval(t *testing.T, d *display, k cardkind.Kind) {
	a := startAgent(t, k, testpki.CardSpec{})
	events := subscribe(t, a)
	o, id := a.handOver(t, "Logga in i journalen")
	// The window reaches the agent through a relay that sees the agent
	// ask it for the PIN: the PIN field has the focus from then on (Enter
	// before that is the focused Avbryt's), and how long the card takes
	// to get there depends on the kind.
	r := relayPrompts(t, a)
	w := openWindow(t, d, &r.testAgent, "sv_SE.UTF-8", k.Env(), "login", "--handoff", id)
	r.waitPrompt(t, "pin")
	w.typeText(t, a.card.PIN)
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodLogin.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.rp.Collect(ctx, o.OrderRef)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != oob.StatusComplete || c.CompletionData == nil || c.CompletionData.User.HSAID != testpki.DefaultHSAID {
		var last any
		if e := a.agent.State().LastError; e != nil {
			last = e.Error
		}
		t.Fatalf("collect after the window's login: %+v (the agent's last error: %+v)\n%s", c, last, w.stderr)
	}
	w.waitExit(t) // it closes itself a moment after the login
	a.wantBackend(t, k)
}

// "Använd mobilen i stället" in the real window: Tab from the PIN field
// to the button and Enter show the order's animated QR code; the code
// zbarimg reads from the window completes the order on the "phone" (a
// login with the scanned payload, as the mobile app makes it), and the
// window then closes itself.
func TestRealWindowLoginWithPhone(t *testing.T) {
	need(t, "zbarimg")
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	o, id := a.handOver(t, "Logga in i journalen")
	w := openWindow(t, d, a, "sv_SE.UTF-8", nil, "login", "--handoff", id)
	w.key(t, "Tab", "Return")
	var payload string
	deadline := time.Now().Add(30 * time.Second)
	for payload == "" {
		shot := filepath.Join(t.TempDir(), "qr.png")
		w.shot(t, shot)
		if out, err := exec.Command("zbarimg", "--quiet", "--raw", shot).Output(); err == nil {
			payload = strings.TrimSpace(string(out))
		} else if time.Now().After(deadline) {
			t.Fatalf("no QR code in the window within 30 s\n%s", w.stderr)
		}
	}
	if !strings.HasPrefix(payload, "sithseid."+o.QRStartToken+".") {
		t.Fatalf("decoded %q, want the order's code (token %s)", payload, o.QRStartToken)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := a.client.Login(ctx, app.LoginRequest{Link: payload, Prompt: fixedPrompt(a.card.PIN, "")})
	if err != nil {
		t.Fatalf("completing the order with the scanned code: %v", err)
	}
	if res.HSAID != testpki.DefaultHSAID {
		t.Fatalf("login %+v", res)
	}
	c, err := a.rp.Collect(ctx, o.OrderRef)
	if err != nil || c.Status != oob.StatusComplete {
		t.Fatalf("collect: %+v %v", c, err)
	}
	w.waitExit(t)
}

// relayPrompts returns a copy of a whose address is a relay to the agent
// that passes every frame through unchanged and reports the kind of each
// prompt frame the agent sends (the local API's frames are lines of JSON;
// localapi/localapi.go). The relay reads no secrets: those go the other way.
func relayPrompts(t *testing.T, a *testAgent) *promptRelay {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "relay.sock")
	l, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	r := &promptRelay{testAgent: *a, upstream: a.addr, prompts: make(chan string, 16)}
	r.addr = addr
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			go r.relay(client)
		}
	}()
	return r
}

// promptRelay is an agent reached through a relay that reports prompts.
type promptRelay struct {
	testAgent
	upstream string // the agent's own address
	prompts  chan string
}

func (r *promptRelay) relay(client net.Conn) {
	defer client.Close()
	up, err := net.Dial("unix", r.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(up, client); up.Close() }()
	lines := bufio.NewReader(up)
	for {
		line, err := lines.ReadBytes('\n')
		if len(line) > 0 {
			var f struct {
				Type   string `json:"type"`
				Prompt *struct {
					Kind string `json:"kind"`
				} `json:"prompt"`
			}
			if json.Unmarshal(line, &f) == nil && f.Type == "prompt" && f.Prompt != nil {
				select {
				case r.prompts <- f.Prompt.Kind:
				default:
				}
			}
			if _, err := client.Write(line); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitPrompt waits until the agent has asked the window a prompt of kind
// (localapi/localapi.go: pin, newPin, puk, approve), skipping others.
func (r *promptRelay) waitPrompt(t *testing.T, kind string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case k := <-r.prompts:
			if k == kind {
				return
			}
		case <-deadline:
			t.Fatalf("the agent asked the window for no %s within 60 s", kind)
		}
	}
}
