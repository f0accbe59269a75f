//go:build linux

package ui_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/leakscan"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
)

// TestRealWindowPINLeaks changes the PIN in a real window ("sithseid ui
// pin", the shipped binary, typed with the keyboard), then searches, for
// the current and the new PIN in every encoding (internal/testkit/
// leakscan): the window process's memory while it still shows the result,
// and once it has closed its stderr and every file under its home (log,
// configuration, state). Any copy of a PIN or the PUK in any encoding
// fails: the PIN entries keep the digits in a buffer they wipe, never in
// strings (ui/views secretEntry; Fyne's widget.Entry left 26 raw copies
// here).
//
// Reading the memory of the undumpable window process needs root.
func TestRealWindowPINLeaks(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "reading the memory of the undumpable window process needs root")
	}
	d := startX(t)
	const pin, puk, newPIN = "73914682", "20583917", "58261937"
	k := cardkind.PIV
	card := rig.Require(t).InsertCard(t, 0, k.Provision(vcard.ProvisionOptions{Dir: t.TempDir(), PIN: pin, PUK: puk}), vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
	ag, addr := agenttest.StartAgent(t, agent.Options{Service: agenttest.Service(t, k), Environment: agenttest.DemoEnvironment(t, is.URL), Version: "test"})
	a := &testAgent{agent: ag, addr: addr, client: agenttest.Dial(t, addr), card: card, url: is.URL, rp: is.RP}
	events := subscribe(t, a)
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
	scan := leakscan.New(pin, puk, newPIN)
	fs, st, err := scan.Process(w.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Errorf("the window process's memory: %s", f)
	}
	t.Logf("searched %d mappings of the window process, %d MB: %d copies", st.Mappings, st.Bytes>>20, len(fs))
	w.key(t, "Return")
	w.waitExit(t)
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
