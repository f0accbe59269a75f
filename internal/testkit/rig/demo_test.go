package rig

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestDemoRunsRepeatedly is `make demo` five times in a row, stopped in
// between every other time (run, run again, stop, run, run again, stop,
// run): every run logs in with the card, a run while a demo runs reuses
// its identity service and agent (same pids, the agent's pid its own), and
// after a stop a run starts them afresh. scripts/demo runs headless against
// this test binary's private pcscd and card, its own runtime directory and
// a free port for the identity service; the binaries are built from this
// tree. It once failed on a second run with "the identity service did not
// start" while the service was up: the script judged the child by its
// command line right after `&`, still the forked shell's.
func TestDemoRunsRepeatedly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs five demos")
	}
	testenv.LookPath(t, "setsid")
	testenv.LookPath(t, "go")
	p := Require(t)
	p.InsertCard(t, 0, vcard.ProvisionOptions{}, vcard.RunOptions{})
	root := repoRoot(t)

	start := time.Now()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./", "./cmd/sithseid-ui", "./cmd/sithseid-idp")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("building the binaries took %v", time.Since(start).Round(time.Millisecond))

	rigDir := t.TempDir()
	home := t.TempDir()
	runtime, err := os.MkdirTemp("", "demo-run-") // short: a socket lives here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runtime) })
	if err := os.Chmod(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	env := append(os.Environ(),
		"RIG_DIR="+rigDir, "SITHSEID_DEMO_BIN="+bin, "SITHSEID_DEMO_IDP_LISTEN="+listen,
		"SITHSEID_READER="+p.Reader(0), "XDG_RUNTIME_DIR="+runtime, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local/share"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local/state"), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent",
		"SITHSEID_LANG=en", "CI=true")
	script := func(name string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second) // a hang is a failure
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", name), args...)
		cmd.Env = env
		cmd.Stdin = nil // no terminal: the demo's public test PIN goes in on stdin
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	pids := func() (idp, agent int) {
		read := func(f string) int {
			b, _ := os.ReadFile(filepath.Join(rigDir, f))
			n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return n
		}
		return read("idp.pid"), read("agent.pid")
	}
	stop := func() {
		idp, agent := pids()
		if out, err := script("rig", "stop"); err != nil {
			t.Fatalf("scripts/rig stop: %v\n%s", err, out)
		}
		for _, pid := range []int{idp, agent} {
			if pid > 0 && syscall.Kill(pid, 0) == nil {
				if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(string(b), "zombie") {
					t.Fatalf("pid %d still runs after scripts/rig stop", pid)
				}
			}
		}
	}
	t.Cleanup(func() {
		if idp, agent := pids(); idp > 0 || agent > 0 {
			script("rig", "stop")
		}
	})

	var prevIDP, prevAgent int
	for run := 1; run <= 5; run++ {
		t0 := time.Now()
		out, err := script("demo", "--headless")
		if err != nil {
			t.Fatalf("run %d: scripts/demo: %v\n%s", run, err, out)
		}
		for _, want := range []string{`"status": "complete"`, `"hsaId": "SE2321000016-1234"`} {
			if !strings.Contains(out, want) {
				t.Fatalf("run %d: no %s in the demo's output:\n%s", run, want, out)
			}
		}
		idp, agent := pids()
		for what, pid := range map[string]int{"sithseid-idp": idp, "sithseid agent": agent} {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if pid == 0 || err != nil || !strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), what) {
				t.Fatalf("run %d: the recorded pid %d is not %s (%q, %v)\n%s", run, pid, what, b, err, out)
			}
		}
		reused := run%2 == 0 // runs 2 and 4 follow a run without a stop
		if reused != (idp == prevIDP && agent == prevAgent) {
			t.Fatalf("run %d: identity service %d (before %d), agent %d (before %d): reused %v, want %v\n%s",
				run, idp, prevIDP, agent, prevAgent, !reused, reused, out)
		}
		if reused && !strings.Contains(out, "already running") {
			t.Fatalf("run %d does not say it reuses the running demo:\n%s", run, out)
		}
		t.Logf("run %d took %v", run, time.Since(t0).Round(time.Millisecond))
		prevIDP, prevAgent = idp, agent
		if run == 2 || run == 4 {
			stop()
		}
	}
	stop()
}
