package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// idleResult is one measurement of a resident process at rest.
type idleResult struct {
	idle    time.Duration
	cpu     time.Duration // user+system time of the process
	wakeups int64         // context switches of all its threads
	rssMB   float64       // resident set at the end
	pssMB   float64       // proportional set at the end
}

// idleMeasured keeps the one measurement of this test process: b.N has no
// meaning here, and the benchmark function may be called again with a
// larger N.
var idleMeasured bool

// BenchmarkAgentIdle: the shipped agent (bin/sithseid agent --foreground,
// built from this module) with a virtual card present and its tray shown
// on a session bus of its own (a fake panel: internal/testkit/dbustest),
// left alone for SITHSEID_IDLE (default 10s; make bench uses 60s:
// "SITHSEID_IDLE=60s go test -run '^$' -bench AgentIdle -benchtime 1x
// ./cli"). The peer, in the same period: OpenSC's resident card watcher
// opensc-notify, in a session of its own with the same fake panel.
// Reports each one's CPU seconds, wakeups (voluntary and involuntary
// context switches of every thread, /proc/PID/task/*/status), RSS and PSS,
// and the APDUs the card received in the period, as BENCH lines.
func BenchmarkAgentIdle(b *testing.B) {
	b.ReportMetric(0, "ns/op") // one idle period, not per-op time
	if idleMeasured {
		return
	}
	idleMeasured = true
	idle := idleFromEnv(b)
	card := insert(b, 0, testpki.CardSpec{})
	exe := shippedBinary(b)
	agent := startShippedAgent(b, exe, b.TempDir(), true)
	peer := startOpenSCNotify(b, b.TempDir())
	apdus0 := settledAPDUs(card) // the identity read's last APDU
	pids := []int{agent.cmd.Process.Pid, peer.cmd.Process.Pid}
	// The agent's start-up tail (its tray's first exchanges with the
	// panel, the peer's own start seen through pcscd, the heap given back
	// once it is quiet) is a cost per start, not per second of idleness:
	// the period starts once the agent has not been woken for 2 s, and
	// the tail is reported on its own.
	st := settle(b, []int{agent.cmd.Process.Pid}, 2*time.Second, 60*time.Second)
	benchLine("agent_start_tail_seconds", st.took.Seconds(), "s")
	benchLine("agent_start_tail_wakeups", float64(st.wakeups), "count")
	res := idleOver(b, idle, pids)
	apdus := card.Server.Stats().APDUs - apdus0
	for i, name := range []string{"agent_idle", "peer_openscnotify_idle"} {
		m := res[i]
		benchLine(name+"_seconds", m.idle.Seconds(), "s")
		benchLine(name+"_cpu_seconds", m.cpu.Seconds(), "s")
		benchLine(name+"_wakeups", float64(m.wakeups), "count")
		benchLine(name+"_wakeups_per_second", float64(m.wakeups)/m.idle.Seconds(), "1/s")
		benchLine(name+"_rss_mb", m.rssMB, "MB")
		benchLine(name+"_pss_mb", m.pssMB, "MB")
	}
	benchLine("agent_idle_tray", 1, "bool")
	// Not judged here: the peer's own use of pcscd wakes the agent's card
	// monitor now and then (perf: SCardGetStatusChange returning, then
	// Go's sysmon spinning, about 70 switches). TestIdleAgentWithTrayIsQuiet
	// judges the agent alone.
	benchLine("agent_idle_apdus_both", float64(apdus), "apdus")
	benchLine("agent_idle_rss_vs_openscnotify_ratio", res[0].rssMB/res[1].rssMB, "ratio")
	benchLine("agent_idle_pss_vs_openscnotify_ratio", res[0].pssMB/res[1].pssMB, "ratio")
}

// idleOver measures each of pids over the same idle period.
func idleOver(b *testing.B, idle time.Duration, pids []int) []idleResult {
	type start struct {
		cpu  time.Duration
		wake int64
	}
	s := make([]start, len(pids))
	for i, pid := range pids {
		s[i].cpu, s[i].wake = procTimes(b, pid)
	}
	time.Sleep(idle) // the measured period itself
	out := make([]idleResult, len(pids))
	for i, pid := range pids {
		cpu, wake := procTimes(b, pid)
		if wake == 0 {
			// Starting cost context switches: none at all means the
			// counter reads the wrong thing.
			b.Fatalf("no context switch counted for process %d since its start", pid)
		}
		out[i] = idleResult{idle: idle, cpu: cpu - s[i].cpu, wakeups: wake - s[i].wake, rssMB: procRSSMB(b, pid), pssMB: procPSSMB(b, pid)}
	}
	return out
}

// settled is how long processes took to go quiet and how often they were
// woken meanwhile.
type settled struct {
	took    time.Duration
	wakeups int64
}

// settle waits until none of pids has been woken (no context switch of
// any thread) for quiet, polling /proc every 100 ms (reading /proc wakes
// no one), and gives up after max, so a process that never settles is
// measured anyway (and the tail says max).
func settle(b testing.TB, pids []int, quiet, max time.Duration) settled {
	sum := func() int64 {
		var n int64
		for _, pid := range pids {
			_, w := procTimes(b, pid)
			n += w
		}
		return n
	}
	start := time.Now()
	first := sum()
	last, since := first, time.Now()
	for time.Since(since) < quiet && time.Since(start) < max {
		time.Sleep(100 * time.Millisecond) // a sampling interval, not a wait for an event
		if n := sum(); n != last {
			last, since = n, time.Now()
		}
	}
	return settled{took: time.Since(start), wakeups: last - first}
}

// procTimes returns a process's user+system CPU time (/proc/PID/stat
// fields 14 and 15, proc(5)) and the voluntary plus involuntary context
// switches summed over its threads (/proc/PID/task/TID/status).
func procTimes(tb testing.TB, pid int) (time.Duration, int64) {
	tb.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	// f[0] is field 3 (state): utime is field 14, stime field 15.
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			tb.Fatalf("%s/stat: %v", dir, err)
		}
		ticks += n
	}
	// USER_HZ is 100 on every Linux architecture Go supports (proc(5)).
	cpu := time.Duration(ticks) * 10 * time.Millisecond

	tasks, err := os.ReadDir(filepath.Join(dir, "task"))
	if err != nil {
		tb.Fatal(err)
	}
	var switches int64
	for _, t := range tasks {
		s, err := os.ReadFile(filepath.Join(dir, "task", t.Name(), "status"))
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, l := range strings.Split(string(s), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					tb.Fatalf("%s: %v", l, err)
				}
				switches += n
			}
		}
	}
	return cpu, switches
}

// procRSSMB is VmRSS from /proc/PID/status in MiB.
func procRSSMB(tb testing.TB, pid int) float64 { return procKBField(tb, pid, "status", "VmRSS") / 1024 }

// procKBField is the "NAME:  N kB" line of /proc/PID/FILE, in kB.
func procKBField(tb testing.TB, pid int, file, name string) float64 {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/%d/%s", name, pid, file)
	return 0
}
