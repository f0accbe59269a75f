package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// BenchmarkVDIHost: a VDI host's view, SITHSEID_VDI_AGENTS (default 50)
// users' agents, the shipped binary (bin/sithseid agent --foreground,
// built from this module: shippedBinary), each its own process with its own runtime, state and
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
// not counted: only the agents'. The peer, in the same idle period: as
// many of OpenSC's resident card watchers (opensc-notify), each in a
// session of its own with the same fake panel (SITHSEID_VDI_PEER=0 leaves
// them out).
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
	exe := shippedBinary(b)
	root := b.TempDir()
	tray := os.Getenv("SITHSEID_VDI_TRAY") != "0"
	var pids, peers []int
	for i := range n {
		a := startShippedAgent(b, exe, filepath.Join(root, fmt.Sprintf("user%02d", i)), tray)
		pids = append(pids, a.cmd.Process.Pid)
	}
	if os.Getenv("SITHSEID_VDI_PEER") != "0" {
		for i := range n {
			p := startOpenSCNotify(b, filepath.Join(root, fmt.Sprintf("peer%02d", i)))
			peers = append(peers, p.cmd.Process.Pid)
		}
	}
	apdus0 := settledAPDUs(card) // the last reads of the card at start
	// As in BenchmarkAgentIdle: the period starts once no agent has been
	// woken for 2 s; their start-up tails are reported on their own.
	st := settle(b, pids, 2*time.Second, 60*time.Second)
	benchLine("vdi_start_tail_seconds", st.took.Seconds(), "s")
	benchLine("vdi_start_tail_wakeups_total", float64(st.wakeups), "count")
	res := idleOver(b, idle, append(slices.Clone(pids), peers...))
	apdus := card.Server.Stats().APDUs - apdus0
	sum := func(rs []idleResult) (cpu time.Duration, wake int64, rss, pss float64) {
		for _, m := range rs {
			cpu, wake, rss, pss = cpu+m.cpu, wake+m.wakeups, rss+m.rssMB, pss+m.pssMB
		}
		return
	}
	benchLine("vdi_agents", float64(n), "count")
	trays := 0
	if tray {
		trays = n
	}
	benchLine("vdi_trays", float64(trays), "count")
	benchLine("vdi_idle_seconds", idle.Seconds(), "s")
	benchLine("vdi_idle_apdus_all", float64(apdus), "apdus")
	var aRSS, aPSS float64
	for _, g := range []struct {
		name string
		rs   []idleResult
	}{{"vdi", res[:len(pids)]}, {"peer_vdi_openscnotify", res[len(pids):]}} {
		if len(g.rs) == 0 {
			continue
		}
		cpu, wake, rss, pss := sum(g.rs)
		k := float64(len(g.rs))
		benchLine(g.name+"_idle_cpu_seconds_total", cpu.Seconds(), "s")
		benchLine(g.name+"_idle_cpu_percent_of_one_core", 100*cpu.Seconds()/idle.Seconds(), "percent")
		benchLine(g.name+"_idle_wakeups_per_second_total", float64(wake)/idle.Seconds(), "1/s")
		benchLine(g.name+"_rss_mb_total", rss, "MB")
		benchLine(g.name+"_rss_mb_per_process", rss/k, "MB")
		// RSS counts the binary's shared pages once per process; PSS
		// shares them out, so its sum is what the host really spends.
		benchLine(g.name+"_pss_mb_total", pss, "MB")
		benchLine(g.name+"_pss_mb_per_process", pss/k, "MB")
		if g.name == "vdi" {
			aRSS, aPSS = rss/k, pss/k
		} else {
			benchLine("vdi_rss_per_agent_vs_openscnotify_ratio", aRSS/(rss/k), "ratio")
			benchLine("vdi_pss_per_agent_vs_openscnotify_ratio", aPSS/(pss/k), "ratio")
		}
	}
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
