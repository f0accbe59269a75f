package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// The resident benchmarks (BenchmarkAgentIdle, BenchmarkVDIHost) run the
// shipped binary, bin/sithseid as "go build -o bin/ ./" makes it (Fyne,
// GLFW and libGL linked in, as installed), not this test binary.

// shippedBinary builds the product's binary into a directory of tb's and
// returns its path (desktoptest.BuildSithseid): for the benchmarks and the
// memory-scan and flood tests.
func shippedBinary(tb testing.TB) string {
	tb.Helper()
	return desktoptest.BuildSithseid(tb)
}

// resident is one long-running process of a user session: the shipped
// agent, or the peer.
type resident struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	host *dbustest.Host // the session's fake panel; nil without a bus
	addr string         // the agent's socket ("" for the peer)
}

// sessionEnv is a user session's environment: its own home, runtime,
// state and config directories, and with tray its own D-Bus session bus
// with a fake panel (a StatusNotifierWatcher and a notification server).
func sessionEnv(b testing.TB, home string, tray bool) ([]string, *dbustest.Host) {
	run := filepath.Join(home, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		b.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case envMain, "HOME", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "DBUS_SESSION_BUS_ADDRESS", "SITHSEID_NO_AGENT", "SITHSEID_ENV":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "XDG_RUNTIME_DIR="+run, "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	if !tray {
		return append(env, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/sithseid-bench-bus"), nil
	}
	bus := dbustest.SessionBus(b)
	host := dbustest.NewHost(b, bus)
	host.ServeWatcher(b)
	host.ServeNotifications(b)
	return append(env, "DBUS_SESSION_BUS_ADDRESS="+bus), host
}

// startResident starts name with args in env and stops it when b ends.
func startResident(b testing.TB, env []string, host *dbustest.Host, name string, args ...string) *resident {
	r := &resident{host: host, done: make(chan struct{})}
	r.cmd = exec.Command(name, args...)
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	b.Cleanup(func() {
		stopProcess(r.cmd.Process.Pid)
		<-r.done
	})
	return r
}

// startShippedAgent starts "bin/sithseid agent --foreground" in a session
// of its own under home and waits until it has read the card and, with a
// tray, shown its item on the session's bus.
func startShippedAgent(b testing.TB, exe, home string, tray bool) *resident {
	env, host := sessionEnv(b, home, tray)
	r := startResident(b, env, host, exe, "agent", "--foreground")
	r.addr = filepath.Join(home, "run", "sithseid", "agent.sock")
	if err := waitAgentReady(context.Background(), r.addr, 60*time.Second); err != nil {
		b.Fatalf("agent in %s: %v\n%s", home, err, r.out.String())
	}
	if host != nil {
		pid := r.cmd.Process.Pid
		host.WaitFor(b, "the agent's tray item", func() bool { return host.HasName(b, dbustest.ItemName(pid)) })
	}
	return r
}

// startOpenSCNotify starts OpenSC's resident card watcher, "opensc-notify"
// (it waits for card events through PC/SC and tells the desktop through
// its notification server), in a session of its own under home, and
// waits until it is blocked waiting for an event: its CPU time stops
// growing.
func startOpenSCNotify(b testing.TB, home string) *resident {
	name := testenv.LookPath(b, "opensc-notify")
	env, host := sessionEnv(b, home, true)
	r := startResident(b, env, host, name)
	pid := r.cmd.Process.Pid
	var last time.Duration = -1
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		select {
		case <-r.done:
			b.Fatalf("opensc-notify ended: %s", r.out.String())
		default:
		}
		cpu, _ := procTimes(b, pid)
		if cpu == last {
			return r
		}
		last = cpu
		if time.Now().After(deadline) {
			b.Fatalf("opensc-notify still busy after 30 s")
		}
	}
}

// settledAPDUs waits until the card's APDU counter has not moved for
// 500 ms (the last reads of processes that just started) and returns it:
// the idle period starts from a quiet card. A measurement, not a
// synchronisation: APDUs sent later are counted in the period.
func settledAPDUs(card *rig.Card) int64 {
	n := card.Server.Stats().APDUs
	for still := time.Now(); time.Since(still) < 500*time.Millisecond; time.Sleep(50 * time.Millisecond) {
		if m := card.Server.Stats().APDUs; m != n {
			n, still = m, time.Now()
		}
	}
	return n
}
