package agent_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/uiexe"
	"github.com/sithseid/sithseid/ui/viewname"
)

// fakeWindows records launches; each "window" runs until closed.
type fakeWindows struct {
	mu       sync.Mutex
	launches [][]string
	open     map[string]chan error
	started  chan string
}

func newFakeWindows() *fakeWindows {
	return &fakeWindows{open: map[string]chan error{}, started: make(chan string, 16)}
}

func (f *fakeWindows) start(exe string, args []string) (func() error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launches = append(f.launches, append([]string{exe}, args...))
	done := make(chan error, 1)
	f.open[strings.Join(args, " ")] = done
	f.started <- strings.Join(args, " ")
	return func() error { return <-done }, nil
}

func (f *fakeWindows) close(t *testing.T, args string) {
	t.Helper()
	f.mu.Lock()
	done, ok := f.open[args]
	delete(f.open, args)
	f.mu.Unlock()
	if !ok {
		t.Fatalf("no window %q open", args)
	}
	done <- nil
}

func (f *fakeWindows) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-f.started:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no window started within 5 s")
		return ""
	}
}

func (f *fakeWindows) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-f.started:
		t.Fatalf("unexpected window %q", s)
	default:
	}
}

// One window per view: a second Open of an open view does nothing until
// the first window closes; other views open beside it.
func TestViewLauncherOnePerView(t *testing.T) {
	f := newFakeWindows()
	l := agent.NewViewLauncher(agent.LauncherOptions{Executable: "/opt/sithseid/sithseid-ui", Start: f.start})
	if err := l.Open(viewname.PIN); err != nil {
		t.Fatal(err)
	}
	if got := f.next(t); got != "pin" {
		t.Fatalf("launched %q", got)
	}
	if err := l.Open(viewname.PIN); !errors.Is(err, agent.ErrViewOpen) {
		t.Fatalf("second Open of an open view: %v", err)
	}
	if err := l.Open(viewname.Certs); err != nil {
		t.Fatal(err)
	}
	if got := f.next(t); got != "certs" {
		t.Fatalf("launched %q", got)
	}
	f.none(t)
	f.close(t, "pin")
	waitUntil(t, "the pin window counted closed", func() bool { return !l.Running(viewname.PIN) })
	if err := l.Open(viewname.PIN); err != nil {
		t.Fatal(err)
	}
	if got := f.next(t); got != "pin" {
		t.Fatalf("launched %q", got)
	}
	if f.launches[0][0] != "/opt/sithseid/sithseid-ui" {
		t.Fatalf("executable %q", f.launches[0][0])
	}
}

// Login approvals queue: one window at a time, the next when it closes,
// skipping requests no longer wanted.
func TestViewLauncherQueue(t *testing.T) {
	f := newFakeWindows()
	l := agent.NewViewLauncher(agent.LauncherOptions{Executable: "sithseid-ui", Start: f.start})
	gone := map[string]bool{"b": true}
	wanted := func(id string) func() bool { return func() bool { return !gone[id] } }
	for _, id := range []string{"a", "b", "c"} {
		if err := l.Enqueue(wanted(id), viewname.Login, "--handoff", id); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.next(t); got != "login --handoff a" {
		t.Fatalf("first: %q", got)
	}
	f.none(t)
	f.close(t, "login --handoff a")
	if got := f.next(t); got != "login --handoff c" {
		t.Fatalf("after a closed: %q (b is gone and must be skipped)", got)
	}
	f.close(t, "login --handoff c")
	waitUntil(t, "no login window", func() bool { return !l.Running(viewname.Login) })
	f.none(t)
}

// The default start runs a real detached process: its own session, and
// reaped when it exits.
func TestViewLauncherDetached(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "ui.sh")
	// The fake "sithseid-ui" writes its arguments and its session id's
	// relation to its pid (setsid makes them equal).
	body := "#!/bin/sh\nsid=$(ps -o sid= -p $$ | tr -d ' ')\necho \"$* sid=$sid pid=$$\" > " + out + ".tmp && mv " + out + ".tmp " + out + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	testenv.LookPath(t, "ps")
	l := agent.NewViewLauncher(agent.LauncherOptions{Executable: script})
	if err := l.Open(viewname.Status); err != nil {
		t.Fatal(err)
	}
	var line string
	waitUntil(t, "the window process to run", func() bool {
		b, err := os.ReadFile(out)
		line = strings.TrimSpace(string(b))
		return err == nil
	})
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "status" || strings.TrimPrefix(f[1], "sid=") != strings.TrimPrefix(f[2], "pid=") {
		t.Fatalf("window process saw %q: want \"status\" (the view first, no \"ui\") in a session of its own", line)
	}
	waitUntil(t, "the exited window to be reaped", func() bool { return !l.Running(viewname.Status) })
	pid := strings.TrimPrefix(f[2], "pid=")
	if _, err := os.Stat("/proc/" + pid); err == nil {
		if b, _ := os.ReadFile("/proc/" + pid + "/stat"); strings.Contains(string(b), ") Z ") {
			t.Fatalf("window process %s left a zombie", pid)
		}
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
	}
}

// lockedBuffer is a log sink read while the launcher writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A window process that fails at start (a Go panic: exit 2, as GLFW's
// under Wine without a display) leaves its reason in the agent's log: its
// standard error, with the exit status, in "window closed". A long output
// is cut to its start and end.
func TestViewLauncherLogsFailedWindowStderr(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "ui.sh")
	body := "#!/bin/sh\necho 'PlatformError: Win32: Failed to create helper window' >&2\nhead -c 10000 /dev/zero | tr '\\0' x >&2\necho >&2\necho 'panic: NotInitialized: The GLFW library is not initialized' >&2\nexit 2\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	l := agent.NewViewLauncher(agent.LauncherOptions{Executable: script, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := l.Open(viewname.Login, "--handoff", "h"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the window's exit in the log", func() bool { return strings.Contains(logs.String(), "window closed") })
	out := logs.String()
	if !strings.Contains(out, "exit status 2") || !strings.Contains(out, "Failed to create helper window") || !strings.Contains(out, "The GLFW library is not initialized") {
		t.Fatalf("the log does not tell why the window process ended:\n%s", out)
	}
	if n := strings.Count(out, "x"); n > 4200 {
		t.Errorf("the log keeps %d bytes of the window's standard error, want its start and end only", n)
	}
}

// Without a window program beside the agent's executable (here the test
// binary's directory has no sithseid-ui), Open fails with
// uiexe.ErrNotFound and Failed is told, once per burst: the user gets the
// "window cannot open" message, not a click that does nothing.
func TestViewLauncherNoUIExecutable(t *testing.T) {
	self, err := uiexe.Self()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uiexe.UIFor(self, func(p string) bool { _, err := os.Stat(p); return err == nil }); err == nil {
		t.Fatalf("a %s lies beside the test binary %s", uiexe.Name, self)
	}
	failed := make(chan error, 4)
	started := make(chan string, 4)
	var logs lockedBuffer
	l := agent.NewViewLauncher(agent.LauncherOptions{
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Start: func(exe string, args []string) (func() error, error) {
			started <- exe
			return func() error { return nil }, nil
		},
		Failed: func(view string, err error) { failed <- err },
	})
	for range 2 {
		if err := l.Open(viewname.Status); !errors.Is(err, uiexe.ErrNotFound) {
			t.Fatalf("Open without a ui executable: %v, want uiexe.ErrNotFound", err)
		}
	}
	select {
	case err := <-failed:
		if !errors.Is(err, uiexe.ErrNotFound) {
			t.Fatalf("Failed told %v, want uiexe.ErrNotFound", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Failed was not told within 5 s")
	}
	if l.Running(viewname.Status) {
		t.Error("a window that did not start counts as open")
	}
	// The second failure is logged as one the user was told of already.
	waitUntil(t, "the second failure in the log", func() bool { return strings.Contains(logs.String(), "told already") })
	select {
	case exe := <-started:
		t.Fatalf("started %q", exe)
	case err := <-failed:
		t.Fatalf("Failed told twice in one burst: %v", err)
	default:
	}
}
