//go:build linux

package ui_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/leakscan"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
)

// TestRealWindowPINLeaks changes the PIN in a real window ("sithseid ui
// pin", the shipped binary, typed with the keyboard), then, the PIN
// blocked, unblocks it with the PUK in the unblock window. After each
// operation it searches, for the PINs and the PUK in every encoding
// (internal/testkit/leakscan): the window process's memory while it still
// shows the result, and once it has closed its stderr and every file
// under its home (log, configuration, state). Any copy fails, raw
// included: the PIN entries keep the digits in a buffer they wipe, never
// in strings (ui/views secretEntry; Fyne's widget.Entry left 26 raw
// copies of the PIN here).
//
// Reading the memory of the undumpable window process needs root.
func TestRealWindowPINLeaks(t *testing.T) {
	needRoot(t)
	d := startX(t)
	const pin, puk, newPIN, unblockedPIN = "73914682", "20583917", "58261937", "39517284"
	k := cardkind.PIV
	card := rig.Require(t).InsertCard(t, 0, k.Provision(vcard.ProvisionOptions{Dir: t.TempDir(), PIN: pin, PUK: puk}), vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
	ag, addr := agenttest.StartAgent(t, agent.Options{Service: agenttest.Service(t, k), Environment: agenttest.DemoEnvironment(t, is.URL), Version: "test"})
	a := &testAgent{agent: ag, addr: addr, client: agenttest.Dial(t, addr), card: card, url: is.URL, rp: is.RP}
	events := subscribe(t, a)
	scan := leakscan.New(pin, puk, newPIN, unblockedPIN)

	w := openWindow(t, d, a, "sv_SE.UTF-8", k.Env(), "pin")
	w.typeText(t, pin)
	w.key(t, "Tab")
	w.typeText(t, newPIN)
	w.key(t, "Tab")
	w.typeText(t, newPIN)
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodPINChange.Name)
	if st := a.agent.State(); st.LastError != nil {
		t.Fatalf("the change failed: %+v\n%s", st.LastError, w.stderr)
	}
	scanWindow(t, w, scan)
	w.key(t, "Return") // Stäng
	w.waitExit(t)
	scanAfter(t, w, scan)

	// Three wrong tries through the agent (not typed in a window) block
	// the PIN; the PUK and a new PIN are typed in the unblock window.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 3 {
		_ = a.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt("000000", "24681357"))
	}
	if !a.pin(t).Blocked {
		t.Fatal("the PIN is not blocked after three wrong tries")
	}
	w = openWindow(t, d, a, "sv_SE.UTF-8", k.Env(), "unblock")
	w.typeText(t, puk)
	w.key(t, "Tab")
	w.typeText(t, unblockedPIN)
	w.key(t, "Tab")
	w.typeText(t, unblockedPIN)
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodPINUnblock.Name)
	if st := a.agent.State(); st.LastError != nil && st.LastError.Method == localapi.MethodPINUnblock.Name {
		t.Fatalf("the unblock failed: %+v\n%s", st.LastError, w.stderr)
	}
	if p := a.pin(t); p.Blocked {
		t.Fatalf("the PIN is still blocked after the unblock window: %+v\n%s", p, w.stderr)
	}
	scanWindow(t, w, scan)
	w.key(t, "Return")
	w.waitExit(t)
	scanAfter(t, w, scan)
}

// TestRealWindowLoginPINLeaks types a wrong PIN into the login approval
// window (a right one would close the window before its memory is read)
// and searches the window process's memory for it while the window offers
// another try, then its stderr and home once it has closed.
func TestRealWindowLoginPINLeaks(t *testing.T) {
	needRoot(t)
	d := startX(t)
	const wrongPIN = "51739264"
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	if a.card.PIN == wrongPIN {
		t.Fatal("the card's PIN is the wrong PIN")
	}
	events := subscribe(t, a)
	_, id := a.handOver(t, "Logga in i journalen")
	r := relayPrompts(t, a)
	w := openWindow(t, d, &r.testAgent, "sv_SE.UTF-8", nil, "login", "--handoff", id)
	r.waitPrompt(t, "pin")
	w.typeText(t, wrongPIN)
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodLogin.Name)
	if p := a.pin(t); p.Retries != 2 {
		t.Fatalf("the wrong PIN did not reach the card: %+v\n%s", p, w.stderr)
	}
	scan := leakscan.New(wrongPIN)
	scanWindow(t, w, scan)
	w.key(t, "Escape")
	w.waitExit(t)
	scanAfter(t, w, scan)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "reading the memory of the undumpable window process needs root")
	}
}

// scanWindow searches the memory of the window process, which still
// shows the operation's result: every copy of a secret fails.
func scanWindow(t *testing.T, w *window, scan *leakscan.Scanner) {
	t.Helper()
	fs, st, err := scan.Process(w.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Errorf("the window process's memory: %s", f)
	}
	t.Logf("searched %d mappings of the window process, %d MB: %d copies", st.Mappings, st.Bytes>>20, len(fs))
}

// scanAfter searches what the closed window left: its stderr and every
// file under its home.
func scanAfter(t *testing.T, w *window, scan *leakscan.Scanner) {
	t.Helper()
	for _, f := range scan.Bytes("the window's stderr", w.stderr.Bytes()) {
		t.Errorf("%s", f)
	}
	var home string
	for _, kv := range w.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	ffs, n, err := scan.Dir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ffs {
		t.Errorf("%s", f)
	}
	t.Logf("searched %d files under the window's home", n)
}
