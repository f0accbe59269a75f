package winelane_test

import (
	"context"
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
// window launcher, as the tray's click does, with the lane's exe as the
// window program: the about window, covered by the settings window with
// the focus, is the foreground window (GetForegroundWindow) after its view
// is opened again, and so it is, restored, when it was minimised. Before,
// the launcher only logged "not on this system" and the settings window
// kept the foreground.
func TestWindowsMenuEntryRaisesOpenWindow(t *testing.T) {
	d := desktoptest.StartXvfb(t)
	l := newLaneOn(t, d.Env()...)
	helper := filepath.Join(l.dir, "winehelper.exe")
	t.Cleanup(func() { l.killAll() })
	r := l.runExe(t, helper, l.env(), "", "raise", winPath(l.exe))
	if r.code != 0 || !strings.Contains(r.stdout, "minimised: the about window is in front") {
		t.Fatalf("winehelper raise: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("%s", r.stdout)
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
