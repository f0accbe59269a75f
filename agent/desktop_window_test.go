package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/startup"
	"github.com/sithseid/sithseid/ui/tray"
	"github.com/sithseid/sithseid/ui/viewname"
)

// syncLog is a log sink read while the agent writes to it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *syncLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// windowDesktop is the agent's desktop side for a user in lang on a
// private session bus that serves notifications, with no system policy;
// extra adds to the user's environment. Its log lines go to logs.
type windowDesktop struct {
	d      *agentDesktop
	host   *dbustest.Host
	logs   *syncLog
	getenv func(string) string
}

func newWindowDesktop(t *testing.T, lang string, extra map[string]string) windowDesktop {
	t.Helper()
	bus := dbustest.SessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	host := dbustest.NewHost(t, bus)
	host.ServeNotifications(t)
	home := t.TempDir()
	t.Cleanup(startup.SetPolicyForTest(filepath.Join(home, "no-policy.json"), filepath.Join(home, "no-policy.d")))
	vars := map[string]string{"HOME": home, "XDG_STATE_HOME": filepath.Join(home, "state"), "LANG": lang,
		"DBUS_SESSION_BUS_ADDRESS": bus}
	for k, v := range extra {
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	logs := &syncLog{}
	s := startup.Start(startup.Env{Getenv: getenv, Log: slog.New(slog.NewTextHandler(logs, nil))})
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := newAgentDesktop(ctx, s, s.Catalog(""), environment.Environment{Name: environment.DEMO}, cancel)
	return windowDesktop{d: d, host: host, logs: logs, getenv: getenv}
}

// A window process that cannot start tells the user (issue 17): the tray's
// menu entry runs the real launcher with a window program that exits at
// once, as the window process does without a usable display or OpenGL
// driver; the agent shows a desktop notification (read over D-Bus) in the
// user's language that names the log file holding the reason. Clicking
// again while it keeps failing shows no second one; after a window that
// worked, the next failure is told again. Before, only the log knew.
func TestWindowThatCannotStartIsNotifiedOncePerBurst(t *testing.T) {
	dir := t.TempDir()
	works := filepath.Join(dir, "works")
	script := filepath.Join(dir, "sithseid-ui")
	body := "#!/bin/sh\n[ -e " + works + " ] && exit 0\necho 'PlatformError: GLX: No GLXFBConfigs returned' >&2\necho 'panic: NotInitialized: The GLFW library is not initialized' >&2\nexit 2\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWindowDesktop(t, "sv_SE.UTF-8", map[string]string{EnvUICommand: script})
	d, host, logs, getenv := w.d, w.host, w.logs, w.getenv

	logDir, err := logfile.DirEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(logDir, logfile.LogFileName)
	const summary = "Fönstret kunde inte öppnas"
	click := func(closed int) {
		t.Helper()
		d.act(tray.Action{Kind: tray.ActionStatus})
		wait.For(t, 10*time.Second, "the window process to end", func() bool {
			return logs.count("window closed") == closed && !d.launcher.Running(viewname.Status)
		})
	}
	told := func() int {
		n := 0
		for _, note := range host.Notes() {
			if note.Summary == summary {
				n++
			}
		}
		return n
	}

	click(1)
	note, next := host.Notification(t, summary, 0)
	if !strings.Contains(note.Body, logPath) || !strings.Contains(note.Body, "IT-supporten") {
		t.Errorf("the notification %q does not name the log %s", note.Body, logPath)
	}
	if logs.count("exit status 2") == 0 || logs.count("The GLFW library is not initialized") == 0 {
		t.Errorf("the log does not hold the window's exit status and standard error:\n%s", logs.String())
	}
	// Clicked again while it keeps failing: logged, not told again.
	click(2)
	click(3)
	if n := logs.count("window failed to open again"); n != 2 {
		t.Fatalf("%d failures counted as repeats, want 2", n)
	}
	// A window that works ends the burst; the next failure is told.
	if err := os.WriteFile(works, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	click(4)
	if err := os.Remove(works); err != nil {
		t.Fatal(err)
	}
	click(5)
	host.Notification(t, summary, next)
	if n := told(); n != 2 {
		t.Errorf("told %d times, want once per burst (2)", n)
	}
}

// Without the window program (sithseid-ui not installed beside the agent,
// here the test binary, nor in ../libexec/sithseid), the tray's menu entry
// tells the user as for a window that cannot start, and the log says which
// program was looked for where.
func TestWindowProgramMissingIsNotified(t *testing.T) {
	w := newWindowDesktop(t, "en_US.UTF-8", nil)
	d, host, logs := w.d, w.host, w.logs
	d.act(tray.Action{Kind: tray.ActionStatus})
	host.Notification(t, "The window could not be opened", 0)
	if logs.count("sithseid-ui not found") == 0 {
		t.Errorf("the log does not say the window program is missing:\n%s", logs.String())
	}
	if d.launcher.Running(viewname.Status) {
		t.Error("a window that did not start counts as open")
	}
}
