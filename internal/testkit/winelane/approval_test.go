package winelane_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// approvalWindow matches the approval window's title in Swedish and English.
const approvalWindow = "^(Inloggning med SITHS-kort|Login with SITHS card) .*SITHS eID$"

// The same-device login on Windows: the sithseid: link opened as Windows
// opens it (ShellExecute through the MSI's protocol key, "wine start"),
// handed to the agent the Run command started, which shows the approval
// window; the PIN typed into that window (xdotool under the lane's Xvfb);
// the relying party sees complete; then the status window opens.
// SITHSEID_WINELANE_SCREENSHOTS=DIR keeps screenshots of both windows
// there (windows-approval.png, windows-status.png).
//
// Every Wine process of the test runs on the test's Xvfb from the first
// on (newLaneOn): a Wine desktop started without a display made the window
// process panic at start (exit 2).
func TestWindowsApprovalWindow(t *testing.T) {
	d := desktoptest.StartXvfb(t)
	l := newLaneOn(t, d.Env()...)
	xdotool := testenv.LookPath(t, "xdotool")
	p := rig.Require(t)
	p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime}, vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, "winelane-relying-party-key")
	l.installMSI(t)
	exe, args := l.runCommand(t)
	t.Cleanup(func() {
		k := exec.Command("wineserver", "-k")
		k.Env = l.env()
		_ = k.Run()
		w := exec.Command("wineserver", "-w")
		w.Env = l.env()
		_ = w.Run()
	})
	// The DEMO service's address as an administrator sets it: policy
	// (Environments\DEMO serviceURL; the environment is policy's too).
	demo := `HKLM\Software\Policies\SITHS eID\Environments\DEMO`
	if out, code := l.wine(t, "reg", "add", demo, "/v", "serviceURL", "/t", "REG_SZ", "/d", is.URL, "/f"); code != 0 {
		t.Fatalf("reg add serviceURL: exit %d %s", code, out)
	}
	t.Cleanup(func() {
		if out, code := l.wine(t, "reg", "delete", `HKLM\Software\Policies\SITHS eID\Environments`, "/f"); code != 0 {
			t.Errorf("reg delete: exit %d %s", code, out)
		}
	})
	env := l.env()
	if r := l.runExe(t, exe, env, "", args...); r.code != 0 {
		t.Fatalf("the Run command: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	o, err := is.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	link := oob.AutoStartURL(o.AutoStartToken, "")
	start := exec.Command("wine", "start", link)
	start.Env = env
	f := outFile(t)
	start.Stdout, start.Stderr = f, f
	if err := start.Run(); err != nil {
		t.Fatalf("wine start %s: %v\n%s", link, err, readOut(t, f))
	}

	x := func(stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, xdotool, args...)
		cmd.Env = append(os.Environ(), d.Env()...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	window := func(title string) string {
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(300 * time.Millisecond) {
			out, err := x("", "search", "--onlyvisible", "--name", title)
			if err == nil && out != "" {
				return strings.Fields(out)[0]
			}
			if time.Now().After(deadline) {
				all, _ := x("", "search", "--onlyvisible", "--name", ".")
				t.Fatalf("no window %q within 90 s (windows: %q)", title, all)
			}
		}
	}
	screenshot := func(w, name string) {
		dir := os.Getenv("SITHSEID_WINELANE_SCREENSHOTS")
		if dir == "" {
			return
		}
		// Let the window draw before the picture.
		time.Sleep(2 * time.Second)
		shot := exec.Command("import", "-window", w, filepath.Join(dir, name))
		shot.Env = append(os.Environ(), d.Env()...)
		if out, err := shot.CombinedOutput(); err != nil {
			t.Errorf("screenshot: %v %s", err, out)
		}
	}
	w := window(approvalWindow)
	screenshot(w, "windows-approval.png")
	if out, err := x("", "windowfocus", "--sync", w); err != nil {
		t.Fatalf("windowfocus: %v %s", err, out)
	}
	// The PIN on xdotool's stdin, never on a command line.
	if out, err := x(vcard.DefaultPIN, "type", "--window", w, "--delay", "60", "--file", "-"); err != nil {
		t.Fatalf("typing the PIN: %v %s", err, out)
	}
	if out, err := x("", "key", "--window", w, "Return"); err != nil {
		t.Fatalf("Enter: %v %s", err, out)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		c, err := is.RP.Collect(context.Background(), o.OrderRef)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == oob.StatusComplete {
			break
		}
		if c.Status == oob.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("the relying party sees %q (%+v)", c.Status, c)
		}
	}

	// The status window, as the Start menu's shortcut opens it (the
	// installed sithseid-ui.exe beside sithseid.exe, "status": the
	// packaging tests check the MSI's Shortcut row), shows the card
	// through the agent (wineserver -k ends it with the test).
	status := exec.Command("wine", filepath.Join(filepath.Dir(exe), "sithseid-ui.exe"), "status")
	status.Env = env
	sf := outFile(t)
	status.Stdout, status.Stderr = sf, sf
	if err := status.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = status.Wait() }()
	screenshot(window(statusWindow), "windows-status.png")
}

// statusWindow matches the status window's title in Swedish and English.
const statusWindow = "^(SITHS-kortet|The SITHS card) .*SITHS eID$"
