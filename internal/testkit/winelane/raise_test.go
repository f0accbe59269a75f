package winelane_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/appid"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// A menu entry for a window that is open raises and focuses it on Windows
// (issue 17): the lane's winehelper.exe (internal/testkit/winelane/
// winehelper, cross-built by scripts/wine-lane) runs the agent's own
// window launcher, as the tray's click does, with the lane's
// sithseid-ui.exe as the window program (as the agent runs it): the about
// window, covered by the settings window with the focus, is the
// foreground window (GetForegroundWindow) after its view is opened again,
// and so it is, restored, when it was minimised. Before,
// the launcher only logged "not on this system" and the settings window
// kept the foreground.
func TestWindowsMenuEntryRaisesOpenWindow(t *testing.T) {
	d := desktoptest.StartXvfb(t)
	l := newLaneOn(t, d.Env()...)
	helper := filepath.Join(l.dir, "winehelper.exe")
	t.Cleanup(func() { l.killAll() })
	r := l.runExe(t, helper, l.env(), "", "raise", winPath(l.uiExe))
	if r.code != 0 || !strings.Contains(r.stdout, "minimised: the about window is in front") {
		t.Fatalf("winehelper raise: exit %d\n%s\nthe launcher's log:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("%s\nthe launcher's log:\n%s", r.stdout, r.stderr)
}

// The agent and the window processes set the application's
// AppUserModelID (internal/appid), the ID the MSI's Start-menu shortcut
// carries (packaging/msi), so the taskbar groups them with the shortcut.
// Wine 8.0's shcore has both SetCurrentProcessExplicitAppUserModelID and
// GetCurrentProcessExplicitAppUserModelID as stubs (Get answers
// E_NOTIMPL), so the ID cannot be read back here: what is checked is the
// call itself with the ID, in Wine's trace of the stub (WINEDEBUG
// fixme+shcore), for "ui about" and for the agent.
func TestWindowsAppUserModelID(t *testing.T) {
	d := desktoptest.StartXvfb(t)
	l := newLaneOn(t, d.Env()...)
	t.Cleanup(func() { l.killAll() })
	want := `SetCurrentProcessExplicitAppUserModelID L"` + appid.AppUserModelID + `"`
	for _, args := range [][]string{{"ui", "about"}, {"agent", "--foreground", "--no-tray"}} {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, "wine", append([]string{l.exe}, args...)...)
		cmd.Env = l.env("WINEDEBUG=-all,fixme+shcore")
		f := outFile(t)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		ok := wait.Until(60*time.Second, func() bool { return strings.Contains(readOut(t, f), want) })
		cancel()
		if _, ended := wait.TryRecv(exited, 30*time.Second); !ended {
			t.Errorf("%s did not end when killed", strings.Join(args, " "))
		}
		if !ok {
			t.Errorf("%s: no %s within 60 s; its output:\n%s", strings.Join(args, " "), want, readOut(t, f))
		}
	}
}

// killAll ends every process of the lane's prefix (the windows the
// launcher ran detached, an agent) and waits for them.
func (l *lane) killAll() {
	for _, a := range []string{"-k", "-w"} {
		k := exec.Command("wineserver", a)
		k.Env = l.env()
		_ = k.Run()
	}
}

// A window process that cannot start tells the user on Windows too
// (issue 17): the agent, started as the Run key starts it but with a
// window program that exits at once with a panic's message (winehelper
// VIEW, as SITHSEID_UI_COMMAND), gets the tray icon's left click as the
// shell sends it (winehelper click); its window fails, and the agent shows a
// message box (the tray library has no balloon on Windows) in the user's
// language naming the log file, which holds the window's exit status and
// standard error. Before, nothing showed.
func TestWindowsWindowThatCannotStartIsTold(t *testing.T) {
	d := desktoptest.StartXvfb(t)
	l := newLaneOn(t, d.Env()...)
	helper := filepath.Join(l.dir, "winehelper.exe")
	t.Cleanup(func() { l.killAll() })
	agent := exec.Command("wine", l.exe, "agent", "--foreground")
	agent.Env = l.env("SITHSEID_UI_COMMAND=" + winPath(helper))
	agentOut := outFile(t)
	agent.Stdout, agent.Stderr = agentOut, agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		wait.TryRecv(exited, 30*time.Second)
	})
	if r := l.runExe(t, helper, l.env(), "", "click"); r.code != 0 {
		t.Fatalf("winehelper click: exit %d\n%s%s\nagent:\n%s", r.code, r.stdout, r.stderr, readOut(t, agentOut))
	}
	r := l.runExe(t, helper, l.env(), "", "alert", "SITHS eID")
	if r.code != 0 {
		t.Fatalf("winehelper alert: exit %d\n%s%s\nagent:\n%s", r.code, r.stdout, r.stderr, readOut(t, agentOut))
	}
	t.Logf("%s", r.stdout)
	const logFile = `C:\users\`
	i := strings.Index(r.stdout, logFile)
	if !strings.Contains(r.stdout, "The window could not be opened") || i < 0 {
		t.Fatalf("the message box does not say that the window could not open and where the log is:\n%s", r.stdout)
	}
	winLog := strings.TrimSpace(strings.SplitN(r.stdout[i:], "\n", 2)[0])
	if !strings.HasSuffix(winLog, `\sithseid.log`) {
		t.Fatalf("the message box names %q, not the log file", winLog)
	}
	b, err := os.ReadFile(l.unixPath(winLog))
	if err != nil {
		t.Fatalf("the log the message box names: %v", err)
	}
	if !strings.Contains(string(b), "exit status 2") || !strings.Contains(string(b), "Failed to create helper window") {
		t.Errorf("the log %s does not hold the window's exit status and standard error:\n%s", winLog, b)
	}
}
