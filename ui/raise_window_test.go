//go:build linux

package ui_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/ui/viewname"
)

// A menu entry for a window that is open raises and focuses that window
// (issue 17): the agent's launcher opens the status window as the tray
// does, another window covers it and takes the focus, and opening the
// status view again gives the status window the focus and puts it on top;
// unmapped (hidden), the same click maps it again. Before, the launcher
// only said "already open" and nothing visible happened.
func TestRealWindowMenuEntryRaisesOpenWindow(t *testing.T) {
	d := startX(t)
	need(t, "xwininfo")
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	home := t.TempDir()
	env := append(append([]string{}, d.env...), "LANG=sv_SE.UTF-8", "LC_ALL=", "LC_MESSAGES=", "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_STATE_HOME="+filepath.Join(home, ".state"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"), "SITHSEID_ENV=DEMO")
	l := agent.NewViewLauncher(agent.LauncherOptions{Executable: sithseidUI(t), Env: env})

	before := map[string]bool{}
	for _, id := range strings.Fields(d.search()) {
		before[id] = true
	}
	if err := l.Open(viewname.Status, "--socket", a.addr); err != nil {
		t.Fatal(err)
	}
	var status string
	wait.For(t, 30*time.Second, "the status window", func() bool {
		for _, id := range strings.Fields(d.search()) {
			if !before[id] {
				status = id
			}
		}
		return status != ""
	})
	// The launcher runs its windows detached: end this one with the test.
	pid, err := strconv.Atoi(d.xdo(t, "getwindowpid", status))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	wait.For(t, 30*time.Second, "a drawn frame of the status window", func() bool { return colours(t, d, status) > 8 })

	// Another window on top, with the focus.
	other := openWindow(t, d, a, "sv_SE.UTF-8", nil, "about")
	other.focus(t)
	if f := d.xdo(t, "getwindowfocus"); f != other.id {
		t.Fatalf("focus %s, want the covering window %s", f, other.id)
	}

	// The menu entry again: the status window comes to the top, focused.
	if err := l.Open(viewname.Status, "--socket", a.addr); !errors.Is(err, agent.ErrViewOpen) {
		t.Fatalf("opening an open view: %v, want ErrViewOpen", err)
	}
	wait.For(t, 10*time.Second, "the status window focused and on top", func() bool {
		return d.xdo(t, "getwindowfocus") == status && topmost(t, d, status, other.id) == status
	})

	// Hidden (unmapped), the same click shows it again.
	d.xdo(t, "windowunmap", "--sync", status)
	if mapped(t, d, status) {
		t.Fatal("the status window is still mapped after windowunmap")
	}
	if err := l.Open(viewname.Status, "--socket", a.addr); !errors.Is(err, agent.ErrViewOpen) {
		t.Fatalf("opening an open view: %v, want ErrViewOpen", err)
	}
	wait.For(t, 10*time.Second, "the status window mapped again", func() bool { return mapped(t, d, status) })
}

// mapped reports whether the X window id is viewable.
func mapped(t *testing.T, d *display, id string) bool {
	t.Helper()
	cmd := exec.Command("xwininfo", "-id", id)
	cmd.Env = append(os.Environ(), d.env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xwininfo -id %s: %v", id, err)
	}
	return strings.Contains(string(out), "Map State: IsViewable")
}

// topmost is whichever of a and b is higher in the root's stacking order
// (xwininfo lists the children top first).
func topmost(t *testing.T, d *display, a, b string) string {
	t.Helper()
	cmd := exec.Command("xwininfo", "-root", "-children")
	cmd.Env = append(os.Environ(), d.env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xwininfo -root -children: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "0x") {
			continue
		}
		n, err := strconv.ParseUint(f[0], 0, 64)
		if err != nil {
			continue
		}
		switch strconv.FormatUint(n, 10) {
		case a:
			return a
		case b:
			return b
		}
	}
	return ""
}
