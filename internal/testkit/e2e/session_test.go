package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
)

func TestMain(m *testing.M) { os.Exit(desktoptest.Main(m, rig.Main)) }

// need finds a tool the test cannot do without: a skip off CI, a failure
// on CI (testenv).
func need(t *testing.T, tool string) string {
	t.Helper()
	return testenv.LookPath(t, tool)
}

// sithseidBinary is the product's binary, built once per test binary.
func sithseidBinary(t *testing.T) string { return desktoptest.Sithseid(t) }

// display is the test's private X server.
type display = desktoptest.Display

// startXvfb runs a private X server until t ends.
func startXvfb(t *testing.T) *display { return desktoptest.StartXvfb(t) }

// session is one simulated user session: its own home, configuration and
// runtime directories (so its own agent socket), the test's X display, the
// rig's pcscd, and the product configured for the DEMO environment at the
// test's identity service.
type session struct {
	t       *testing.T
	bin     string
	env     []string
	display *display
	logs    string // the product's log directory
}

// newSession is a session whose product is told to use kind k's backend
// the way a user's is (k.Env: every process of the session, the agent the
// URL handler starts included, inherits it).
func newSession(t *testing.T, d *display, serviceURL string, k cardkind.Kind) *session {
	t.Helper()
	p := rig.Require(t)
	home := t.TempDir()
	run := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, bin: sithseidBinary(t), display: d}
	// The rig's environment (this process's, with the pcscd socket) comes
	// first: a later entry wins, and the session's home, runtime
	// directory and backend must. (A home of its own also keeps OpenSC's
	// file cache, were it on, to this session's card.)
	s.env = append(p.Env(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_RUNTIME_DIR="+run,
		"DISPLAY="+d.Name,
		"LANG=sv_SE.UTF-8",
		"LC_ALL=",
		"SITHSEID_ENV=DEMO",
		"SITHSEID_SERVICE_URL="+serviceURL,
		// No session bus: the agent runs without a tray (the tray has its
		// own test); the windows still open.
		"DBUS_SESSION_BUS_ADDRESS=",
	)
	s.env = append(s.env, k.Env()...)
	s.logs = filepath.Join(home, ".local", "state", "sithseid", "log")
	t.Cleanup(s.stopAgent)
	return s
}

// cmd runs the product as the OS would: no terminal on stdin.
func (s *session) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, s.bin, args...)
	c.Env = s.env
	c.Stdin = nil // /dev/null: not a terminal
	return c
}

// open is what xdg-open does with a sithseid: link: run the registered
// handler with the link as its only argument, with no terminal.
func (s *session) open(link string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.cmd(ctx, link).CombinedOutput()
	if err != nil {
		s.t.Fatalf("the URL handler: %v\n%s", err, out)
	}
}

// stopAgent stops the session's agent (and with it the windows it opened).
func (s *session) stopAgent() {
	// Every process of this session (agent, windows) has the session's
	// runtime directory in its environment.
	run := ""
	for _, e := range s.env {
		if strings.HasPrefix(e, "XDG_RUNTIME_DIR=") {
			run = strings.TrimPrefix(e, "XDG_RUNTIME_DIR=")
		}
	}
	for _, pid := range processesWithEnv("XDG_RUNTIME_DIR=" + run) {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	// SIGTERM first, so they can clean up; SIGKILL what is left after 5 s.
	wait.Until(5*time.Second, func() bool { return len(processesWithEnv("XDG_RUNTIME_DIR="+run)) == 0 })
	for _, pid := range processesWithEnv("XDG_RUNTIME_DIR=" + run) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processesWithEnv lists the processes (not this one) whose environment
// holds the entry kv.
func processesWithEnv(kv string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, v := range bytes.Split(b, []byte{0}) {
			if string(v) == kv {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// logTail returns the end of the product's log files, for failure reports.
func (s *session) logTail() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.logs, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(data) > 6000 {
			data = data[len(data)-6000:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", f, data)
	}
	return b.String()
}

// xdotool runs xdotool on the test's display; stdin, when not nil, is its
// standard input (text to type goes there, never on its command line).
func (s *session) xdotool(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	c := exec.CommandContext(ctx, "xdotool", args...)
	c.Env = append(os.Environ(), "DISPLAY="+s.display.Name)
	c.Stdin = stdin
	out, err := c.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// waitWindow waits for a visible window whose name matches pattern (a
// regular expression, as xdotool search takes it) and returns its id.
func (s *session) waitWindow(pattern string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := s.xdotool(ctx, nil, "search", "--onlyvisible", "--name", pattern)
		cancel()
		if err == nil && out != "" {
			ids := strings.Fields(out)
			return ids[len(ids)-1]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no window named %q after %v\nlogs:\n%s", pattern, timeout, s.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// windowGone reports whether window id no longer exists or is hidden.
func (s *session) windowGone(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := s.xdotool(ctx, nil, "search", "--onlyvisible", "--name", ".")
	if err != nil {
		return true
	}
	for _, w := range strings.Fields(out) {
		if w == id {
			return false
		}
	}
	return true
}

// screenshotRendered is screenshot once the window shows more than one
// colour: a window just mapped is black until its first frame.
func (s *session) screenshotRendered(id, path string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s.screenshot(id, path)
		if colourful(path) || time.Now().After(deadline) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// colourful reports whether the PNG at path has two or more colours.
func colourful(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return false
	}
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bl != b0 {
				return true
			}
		}
	}
	return false
}

// screenshot saves window id as a PNG (imagemagick's import).
func (s *session) screenshot(id, path string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, need(s.t, "import"), "-window", id, path)
	c.Env = append(os.Environ(), "DISPLAY="+s.display.Name)
	if out, err := c.CombinedOutput(); err != nil {
		s.t.Fatalf("import: %v\n%s", err, out)
	}
}

// identityService runs the reference identity service with the default
// test PKI, whose root is the DEMO environment's trust anchor: the product
// trusts it with nothing added, as in "make demo".
func identityService(t *testing.T) string {
	t.Helper()
	return agenttest.StartIdentityService(t, idp.Options{}, "e2e-test-relying-party-key-0123456789").URL
}

// rigCard inserts a fresh virtual SITHS card of kind k (PIN 123456) into
// the rig's first reader.
func rigCard(t *testing.T, k cardkind.Kind) *rig.Card {
	t.Helper()
	return k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
}

// agentBackend asks the session's agent itself (its socket, not the CLI,
// which would answer in-process when no agent does) which backend reaches
// its one card.
func (s *session) agentBackend() string {
	s.t.Helper()
	getenv := func(key string) string {
		v := ""
		for _, e := range s.env {
			if k, val, ok := strings.Cut(e, "="); ok && k == key {
				v = val
			}
		}
		return v
	}
	addr, err := localapi.Address(getenv)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := localapi.DialAddress(ctx, addr)
	if err != nil {
		s.t.Fatalf("the session's agent: %v\n%s", err, s.logTail())
	}
	defer c.Close()
	st, err := c.Status(ctx, app.StatusOptions{})
	if err != nil || len(st.Cards) != 1 {
		s.t.Fatalf("the agent's status: %v %+v", err, st)
	}
	return st.Cards[0].Backend
}

func killPID(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }
