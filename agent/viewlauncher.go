package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sithseid/sithseid/internal/detach"
	"github.com/sithseid/sithseid/internal/uiexe"
	"github.com/sithseid/sithseid/ui/viewname"
)

// EnvUICommand names the program the agent runs for its windows ("PROGRAM
// VIEW …") instead of the ui executable, sithseid-ui. It is a test hook (a
// test records the launches, or points at a freshly built sithseid-ui);
// docs/admin.md lists it.
const EnvUICommand = "SITHSEID_UI_COMMAND"

// LauncherOptions configures a ViewLauncher; the zero value runs
// "sithseid-ui VIEW …" detached, the ui executable found beside this one
// (internal/uiexe).
type LauncherOptions struct {
	// Executable is the window program, run as "EXE VIEW [ARGS]" (the
	// arguments of "sithseid ui"); "" means the ui executable
	// (internal/uiexe.Path): the window's process is the launcher's
	// child, the one a raise asks (raiseProcess), no "sithseid ui" hop.
	Executable string
	// Start starts the window process and returns a function that waits
	// for it to end. nil starts a detached child: a session of its own,
	// standard input and output on the null device (its standard error is
	// logged when it fails, startDetached), so it outlives neither a
	// terminal nor a crash of the agent's caller, and is reaped when it
	// exits.
	Start func(exe string, args []string) (wait func() error, err error)
	// Log records launches and exits; nil discards.
	Log *slog.Logger
	// Env is added to this process's environment for the windows the
	// default Start runs (tests: the display).
	Env []string
	// Failed is told that a window could not open: its program is not
	// installed or could not start (uiexe.ErrNotFound, the start's error),
	// or its process ended with an error within startFailWithin of its
	// start (no display, no usable OpenGL driver, a crash at start), err
	// holding its exit status and standard error. It is told once per burst of such failures
	// (failBurstGap), so a user who clicks again and again gets one
	// message. nil: the log only ("window closed").
	Failed func(view string, err error)
}

const (
	// startFailWithin: a window process that ends with an error sooner
	// than this after its start could not open its window.
	startFailWithin = 20 * time.Second
	// failBurstGap: failures to open a window less than this apart, with
	// no window working between them, are one burst.
	failBurstGap = 2 * time.Minute
)

// ViewLauncher opens the agent's windows: at most one process per view.
// Opening a view whose window is still open raises that window (the
// process is asked to show and focus itself, raiseProcess); a view opened
// with Enqueue while its window is open starts when that window ends
// (one login approval at a time, in the order the requests came).
type ViewLauncher struct {
	opts LauncherOptions
	log  *slog.Logger

	mu      sync.Mutex
	running map[string]bool
	queued  map[string][]queuedView
	// procs are the window processes the default Start ran, by view:
	// what Open asks to raise.
	procs map[string]*os.Process
	// lastFailure is when a window last failed to open, zero when none
	// has since a window worked: the burst Failed was told of.
	lastFailure time.Time
}

type queuedView struct {
	args []string
	// wanted is asked just before a queued window starts; false skips it
	// (the login request it was for has gone meanwhile).
	wanted func() bool
}

// ErrViewOpen: the view's window is already open.
var ErrViewOpen = errors.New("window already open")

// NewViewLauncher returns a launcher.
func NewViewLauncher(opts LauncherOptions) *ViewLauncher {
	l := &ViewLauncher{opts: opts, log: opts.Log, running: map[string]bool{}, queued: map[string][]queuedView{}, procs: map[string]*os.Process{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// Open starts the window program with "VIEW ARGS" unless the view's window is open: then it
// asks that window to raise and focus itself, and returns ErrViewOpen.
func (l *ViewLauncher) Open(view string, args ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[view] {
		l.log.Info("window already open: raising it", "view", view)
		if p := l.procs[view]; p != nil {
			raise := func() {
				if err := raiseProcess(p); err != nil {
					l.log.Warn("raising a window", "view", view, "err", err)
				} else {
					l.log.Info("window raised", "view", view)
				}
			}
			if runtime.GOOS == "windows" {
				// The raise there waits for the window (it may still be
				// starting) and for the foreground: not under the lock.
				go raise()
			} else {
				raise()
			}
		}
		return ErrViewOpen
	}
	return l.startLocked(view, args)
}

// Enqueue is Open, but while the view's window is open the launch waits
// for it to end; wanted (nil: always) is asked then.
func (l *ViewLauncher) Enqueue(wanted func() bool, view string, args ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[view] {
		l.queued[view] = append(l.queued[view], queuedView{args: args, wanted: wanted})
		l.log.Info("window queued", "view", view, "queued", len(l.queued[view]))
		return nil
	}
	return l.startLocked(view, args)
}

// QueueApprovalWindow opens the login approval window of a's queued
// request id on l, behind any approval window already open: one window at
// a time, in the order the requests came, never stacked. A request that
// is gone by its turn (taken by a login, expired) opens none.
func QueueApprovalWindow(l *ViewLauncher, a *Agent, id string) error {
	return l.Enqueue(func() bool { return a.HasHandoff(id) }, viewname.Login, "--handoff", id)
}

// Running reports whether the view's window is open.
func (l *ViewLauncher) Running(view string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running[view]
}

func (l *ViewLauncher) startLocked(view string, args []string) error {
	exe := l.opts.Executable
	if exe == "" {
		var err error
		if exe, err = uiexe.Path(); err != nil {
			return l.startFailed(view, err)
		}
	}
	argv := append([]string{view}, args...)
	var proc *os.Process
	start := l.opts.Start
	if start == nil {
		start = func(exe string, args []string) (func() error, error) {
			p, wait, err := startDetached(exe, args, l.opts.Env)
			proc = p
			return wait, err
		}
	}
	wait, err := start(exe, argv)
	if err != nil {
		return l.startFailed(view, err)
	}
	// args may hold a handoff id: an opaque queue key, not a secret, and
	// not the login link itself.
	l.log.Info("window opened", "view", view)
	l.running[view] = true
	l.procs[view] = proc
	started := time.Now()
	go func() {
		err := wait()
		l.log.Info("window closed", "view", view, "err", err)
		l.windowEnded(view, err, time.Since(started))
		l.ended(view)
	}()
	return nil
}

// startFailed is a window whose program did not start (not installed,
// not executable): logged, and told to opts.Failed as a window that ended
// at once (not under l.mu: Failed may show a message box).
func (l *ViewLauncher) startFailed(view string, err error) error {
	l.log.Warn("opening a window", "view", view, "err", err)
	go l.windowEnded(view, err, 0)
	return fmt.Errorf("opening the %s window: %w", view, err)
}

// windowEnded tells opts.Failed of a window that could not open, the
// first of a burst; a window that worked (ended cleanly, or ran past
// startFailWithin) ends the burst.
func (l *ViewLauncher) windowEnded(view string, err error, ran time.Duration) {
	now := time.Now()
	l.mu.Lock()
	if err == nil || ran >= startFailWithin {
		l.lastFailure = time.Time{}
		l.mu.Unlock()
		return
	}
	first := l.lastFailure.IsZero() || now.Sub(l.lastFailure) >= failBurstGap
	l.lastFailure = now
	failed := l.opts.Failed
	l.mu.Unlock()
	if !first {
		l.log.Info("window failed to open again: the user was told already", "view", view)
		return
	}
	if failed != nil {
		failed(view, err)
	}
}

// ended starts the next queued window of the view, if any is still
// wanted.
func (l *ViewLauncher) ended(view string) {
	for {
		l.mu.Lock()
		l.running[view] = false
		delete(l.procs, view)
		q := l.queued[view]
		if len(q) == 0 {
			l.mu.Unlock()
			return
		}
		next := q[0]
		l.queued[view] = q[1:]
		l.mu.Unlock()
		if next.wanted != nil && !next.wanted() {
			continue
		}
		l.mu.Lock()
		err := error(nil)
		if !l.running[view] {
			err = l.startLocked(view, next.args)
		}
		l.mu.Unlock()
		if err == nil {
			return
		}
	}
}

// stderrKeep is how much of a window process's standard error the
// launcher keeps (its start and its end) for the log when it fails.
const stderrKeep = 4096

// startDetached starts a window process detached, standard input and
// output on the null device. Its standard error is kept (its first and
// last stderrKeep/2 bytes) and, when it exits with an error, is part of the
// error wait returns ("window closed" in the agent's log): a window
// process that cannot make its window (a Go panic; GLFW without a usable
// display or OpenGL driver, as seen under Wine) otherwise ends unseen, its
// output lost, and the user sees no window and no reason. The window
// process writes no PIN to it.
func startDetached(exe string, args, env []string) (*os.Process, func() error, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer null.Close()
	cmd := exec.Command(exe, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	stderr := &headTail{max: stderrKeep}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, stderr
	// A process of its own that kept the pipe would hold Wait past the
	// window's exit: not longer than this.
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = detach.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	wait := func() error {
		err := cmd.Wait()
		if out := strings.TrimSpace(stderr.String()); err != nil && out != "" {
			return fmt.Errorf("%w; its standard error: %s", err, out)
		}
		return err
	}
	return cmd.Process, wait, nil
}

// headTail keeps the first and the last max/2 bytes written to it: a Go
// panic's reason is at the start of its output, a fatal message after
// other output at the end.
type headTail struct {
	mu         sync.Mutex
	max        int
	head, tail []byte
	cut        bool
}

func (t *headTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := t.max/2 - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head, p = append(t.head, p[:k]...), p[k:]
	}
	t.tail = append(t.tail, p...)
	if over := len(t.tail) - t.max/2; over > 0 {
		t.tail, t.cut = append(t.tail[:0], t.tail[over:]...), true
	}
	return n, nil
}

func (t *headTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return string(t.head) + "\n…\n" + string(t.tail)
	}
	return string(t.head) + string(t.tail)
}
