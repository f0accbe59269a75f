package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// BenchmarkVDIHost: a VDI host's view, SITHSEID_VDI_AGENTS (default 50)
// users' agents, each its own process with its own runtime, state and
// config directories (as each session has), all seeing one reader with a
// card (as when the card is redirected into every session); they start,
// read the card, and are left alone for SITHSEID_IDLE (default 10s; "make
// bench" uses 60s). Reports the total CPU seconds, wakeups and RSS of all
// agents over the idle period, the APDUs the card received, and the mean
// RSS and PSS per agent. Each session also gets its own D-Bus session bus
// with a fake panel (a StatusNotifierWatcher and a notification server,
// internal/testkit/dbustest), and the agent shows its tray there before the idle
// period starts, as in a desktop session; SITHSEID_VDI_TRAY=0 leaves the
// buses out (agents without a tray). The buses' and panels' own cost is
// not counted: only the agents'.
//
//	SITHSEID_IDLE=60s go test -run '^$' -bench VDIHost -benchtime 1x ./cli
func BenchmarkVDIHost(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	if vdiMeasured {
		return
	}
	vdiMeasured = true
	n := 50
	if v, err := strconv.Atoi(os.Getenv("SITHSEID_VDI_AGENTS")); err == nil && v > 0 {
		n = v
	}
	idle := idleFromEnv(b)
	card := insert(b, 0, testpki.CardSpec{})
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	ctx := context.Background()
	tray := os.Getenv("SITHSEID_VDI_TRAY") != "0"
	pids := make([]int, 0, n)
	hosts := make([]*dbustest.Host, 0, n)
	for i := range n {
		home := filepath.Join(root, fmt.Sprintf("user%02d", i))
		run := filepath.Join(home, "run")
		if err := os.MkdirAll(run, 0o700); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(exe, "agent", "--foreground")
		cmd.Env = append(os.Environ(), envMain+"=1", "HOME="+home, "XDG_RUNTIME_DIR="+run,
			"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
		if tray {
			bus := dbustest.SessionBus(b)
			host := dbustest.NewHost(b, bus)
			host.ServeWatcher(b)
			host.ServeNotifications(b)
			hosts = append(hosts, host)
			cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS="+bus)
		} else {
			cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/sithseid-vdi-bus")
		}
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &errb, &errb
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		b.Cleanup(func() {
			stopProcess(cmd.Process.Pid)
			<-done
		})
		pids = append(pids, cmd.Process.Pid)
		addr := filepath.Join(run, "sithseid", "agent.sock")
		if err := waitAgentReady(ctx, addr, 60*time.Second); err != nil {
			b.Fatalf("agent %d: %v\n%s", i, err, errb.String())
		}
		if tray {
			pid := cmd.Process.Pid
			hosts[i].WaitFor(b, "agent's tray item", func() bool { return hosts[i].HasName(b, dbustest.ItemName(pid)) })
		}
	}
	time.Sleep(500 * time.Millisecond) // the last identity reads' APDUs
	apdus0 := card.Server.Stats().APDUs
	var cpu0 time.Duration
	var w0 int64
	for _, pid := range pids {
		c, w := procTimes(b, pid)
		cpu0 += c
		w0 += w
	}
	time.Sleep(idle)
	var cpu1 time.Duration
	var w1 int64
	var rss, pss float64
	for _, pid := range pids {
		c, w := procTimes(b, pid)
		cpu1 += c
		w1 += w
		rss += procRSSMB(b, pid)
		pss += procPSSMB(b, pid)
	}
	apdus := card.Server.Stats().APDUs - apdus0
	benchLine("vdi_agents", float64(n), "count")
	benchLine("vdi_trays", float64(len(hosts)), "count")
	benchLine("vdi_idle_seconds", idle.Seconds(), "s")
	benchLine("vdi_idle_cpu_seconds_total", (cpu1 - cpu0).Seconds(), "s")
	benchLine("vdi_idle_cpu_percent_of_one_core", 100*(cpu1-cpu0).Seconds()/idle.Seconds(), "percent")
	benchLine("vdi_idle_wakeups_per_second_total", float64(w1-w0)/idle.Seconds(), "1/s")
	benchLine("vdi_idle_apdus", float64(apdus), "apdus")
	benchLine("vdi_rss_mb_total", rss, "MB")
	benchLine("vdi_rss_mb_per_agent", rss/float64(n), "MB")
	// RSS counts the binary's shared pages once per process; PSS shares
	// them out, so its sum is what the host really spends.
	benchLine("vdi_pss_mb_total", pss, "MB")
	benchLine("vdi_pss_mb_per_agent", pss/float64(n), "MB")
}

// procPSSMB is Pss from /proc/PID/smaps_rollup in MiB.
func procPSSMB(tb testing.TB, pid int) float64 {
	return procKBField(tb, pid, "smaps_rollup", "Pss") / 1024
}

var vdiMeasured bool

// waitAgentReady waits until the agent at addr answers and has read the
// card (its state names it and no operation runs).
func waitAgentReady(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := localapi.DialAddress(ctx, addr)
		if err == nil {
			sctx, cancel := context.WithTimeout(ctx, time.Until(deadline))
			events, serr := c.Subscribe(sctx)
			if serr == nil {
				for ev := range events {
					if ev.State != nil && ev.State.Card != nil && ev.State.Busy == "" {
						cancel()
						c.Close()
						return nil
					}
				}
			}
			cancel()
			c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v (%v)", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchLine prints one figure in make bench's format.
func benchLine(name string, v float64, unit string) {
	fmt.Printf("BENCH %s %s %s\n", name, strconv.FormatFloat(v, 'f', 3, 64), unit)
}

// idleFromEnv is SITHSEID_IDLE, default 10s.
func idleFromEnv(tb testing.TB) time.Duration {
	idle := 10 * time.Second
	if v := os.Getenv("SITHSEID_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			tb.Fatalf("SITHSEID_IDLE=%q: want a duration such as 60s", v)
		}
		idle = d
	}
	return idle
}
