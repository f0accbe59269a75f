//go:build linux

package ui_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// A language saved in Inställningar reaches an open window at once
// (issue 17): the status window, open in Swedish, turns English when the
// user's preferences are saved with English, as the settings window
// saves them; no restart, no new window.
func TestRealWindowFollowsLanguageSetting(t *testing.T) {
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	cfgHome := t.TempDir()
	w := openWindow(t, d, a, "sv_SE.UTF-8", []string{"XDG_CONFIG_HOME=" + cfgHome}, "status")
	if got := d.xdo(t, "getwindowname", w.id); got != "SITHS-kortet – SITHS eID" {
		t.Fatalf("title %q before the change", got)
	}
	cfg, err := config.Load(config.Options{NoSystemPolicy: true, UserFile: filepath.Join(cfgHome, "sithseid", "config.json")})
	if err != nil {
		t.Fatal(err)
	}
	titles := w.spyTitle(t)
	if err := cfg.SetUser(config.KeyLanguage, "en"); err != nil {
		t.Fatal(err)
	}
	titles.wait(t, "The SITHS card")
}

// setLanguage saves lang in the user's preferences under cfgHome, as the
// settings window does.
func setLanguage(t *testing.T, cfgHome, lang string) {
	t.Helper()
	cfg, err := config.Load(config.Options{NoSystemPolicy: true, UserFile: filepath.Join(cfgHome, "sithseid", "config.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetUser(config.KeyLanguage, lang); err != nil {
		t.Fatal(err)
	}
}

// The PIN window turns English in place when the language is saved
// while a PIN is half typed (issue 17): the digits typed before the
// switch stay in their field, and the change made after it with the
// keyboard sets the card's PIN.
func TestRealWindowPINFollowsLanguageKeepingTypedPIN(t *testing.T) {
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	events := subscribe(t, a)
	cfgHome := t.TempDir()
	w := openWindow(t, d, a, "sv_SE.UTF-8", []string{"XDG_CONFIG_HOME=" + cfgHome}, "pin")
	titles := w.spyTitle(t)
	titles.wait(t, "Byt PIN-kod")
	w.typeText(t, a.card.PIN)
	setLanguage(t, cfgHome, "en")
	titles.wait(t, "Change PIN")
	w.key(t, "Tab")
	w.typeText(t, "24681357")
	w.key(t, "Tab")
	w.typeText(t, "24681357")
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodPINChange.Name)
	if st := a.agent.State(); st.LastError != nil {
		t.Fatalf("the change failed: %+v\n%s", st.LastError, w.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt("24681357", "97531864")); err != nil {
		t.Fatalf("the PIN typed across the switch is not the card's: %v", err)
	}
}

// A login waiting for its PIN keeps waiting through a language switch;
// the PIN typed half before, half after it completes the order. The QR
// window turns English and its code keeps turning.
func TestRealWindowLoginAndQRFollowLanguage(t *testing.T) {
	need(t, "zbarimg")
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	events := subscribe(t, a)
	cfgHome := t.TempDir()
	o, id := a.handOver(t, "Logga in i journalen")
	r := relayPrompts(t, a)
	w := openWindow(t, d, &r.testAgent, "sv_SE.UTF-8", []string{"XDG_CONFIG_HOME=" + cfgHome}, "login", "--handoff", id)
	titles := w.spyTitle(t)
	r.waitPrompt(t, "pin")
	pin := a.card.PIN
	w.typeText(t, pin[:3])
	setLanguage(t, cfgHome, "en")
	titles.wait(t, "Login with SITHS card")
	w.typeText(t, pin[3:])
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodLogin.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.rp.Collect(ctx, o.OrderRef)
	if err != nil || c.Status != oob.StatusComplete {
		t.Fatalf("collect after a login across the switch: %+v %v\n%s", c, err, w.stderr)
	}
	w.waitExit(t)

	o, id = a.handOver(t, "Logga in med mobilen")
	setLanguage(t, cfgHome, "sv")
	w = openWindow(t, d, a, "sv_SE.UTF-8", []string{"XDG_CONFIG_HOME=" + cfgHome}, "qr", "--handoff", id)
	titles = w.spyTitle(t)
	titles.wait(t, "Logga in med mobilen")
	first := w.qrPayload(t)
	setLanguage(t, cfgHome, "en")
	titles.wait(t, "Log in with your phone")
	// The code turns on after the switch: a later one, the order's.
	wait.For(t, 30*time.Second, "a new code after the switch", func() bool {
		p := w.qrPayload(t)
		return p != first && strings.HasPrefix(p, "sithseid."+o.QRStartToken+".")
	})
}

// qrPayload is what zbarimg reads from the window's QR code.
func (w *window) qrPayload(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		shot := filepath.Join(t.TempDir(), "qr.png")
		w.shot(t, shot)
		if out, err := exec.Command("zbarimg", "--quiet", "--raw", shot).Output(); err == nil {
			return strings.TrimSpace(string(out))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no QR code in the window within 30 s\n%s", w.stderr)
		}
	}
}

// titleSpy follows the window's title as the X server reports each
// change (xprop -spy): waiting on it waits for the event, not for time.
type titleSpy struct {
	lines chan string
	last  string
}

func (w *window) spyTitle(t *testing.T) *titleSpy {
	t.Helper()
	cmd := exec.Command("xprop", "-spy", "-id", w.id, "_NET_WM_NAME")
	cmd.Env = append(os.Environ(), "DISPLAY="+w.d.name, "LC_ALL=C.UTF-8")
	cmd.SysProcAttr = dieWithTest()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &titleSpy{lines: make(chan string, 64)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return s
}

// wait waits until the title begins with want, the view's own title
// (xprop prints the title the window has first, then every new one), at
// most a minute.
func (s *titleSpy) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if strings.Contains(s.last, `"`+want) {
			return
		}
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("xprop ended before the title %q (last %s)", want, s.last)
			}
			s.last = l
		case <-deadline:
			t.Fatalf("the title is not %q within 60 s (last %s)", want, s.last)
		}
	}
}
