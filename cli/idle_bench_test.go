package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// idleResult is one measurement of the agent at rest.
type idleResult struct {
	idle    time.Duration
	cpu     time.Duration // user+system time of the agent process
	wakeups int64         // context switches of all its threads
	apdus   int64         // APDUs the card received
	rssMB   float64       // resident set at the end
}

// idleMeasured keeps the one measurement of this test process: b.N has no
// meaning here, and the benchmark function may be called again with a
// larger N.
var idleMeasured *idleResult

// BenchmarkAgentIdle: the agent as its own process (this test binary
// re-exec'd as "sithseid agent --foreground") with a virtual card present,
// left alone for SITHSEID_IDLE (default 10s; the minute is
// "SITHSEID_IDLE=60s make bench", or
// "SITHSEID_IDLE=60s go test -run '^$' -bench AgentIdle -benchtime 1x ./cli").
// Reports CPU seconds, wakeups (voluntary and involuntary context switches
// of every thread, /proc/PID/task/*/status), APDUs to the card and RSS,
// as metrics and as BENCH lines on standard output. With
// SITHSEID_BENCH_TRAY=1 under dbus-run-session the agent shows its tray
// to a fake panel meanwhile (benchTray).
func BenchmarkAgentIdle(b *testing.B) {
	if idleMeasured == nil {
		idleMeasured = measureIdle(b)
	}
	m := idleMeasured
	b.ReportMetric(0, "ns/op") // one idle period, not per-op time
	b.ReportMetric(m.idle.Seconds(), "idle-s")
	b.ReportMetric(m.cpu.Seconds(), "cpu-s")
	b.ReportMetric(float64(m.wakeups), "wakeups")
	b.ReportMetric(float64(m.wakeups)/m.idle.Seconds(), "wakeups/s")
	b.ReportMetric(float64(m.apdus), "apdus")
	b.ReportMetric(m.rssMB, "rss-MB")
}

func measureIdle(b *testing.B) *idleResult {
	idle := idleFromEnv(b)
	card := insert(b, 0, testpki.CardSpec{})
	trayUp := benchTray(b) // SITHSEID_BENCH_TRAY=1: with the tray shown
	run := b.TempDir()
	b.Setenv("XDG_RUNTIME_DIR", run)
	b.Setenv(envMain, "1")
	ctx := context.Background()
	var errb bytes.Buffer
	if code := sithseidMain(ctx, cli.Env{Args: []string{"agent"}, Stdout: &errb, Stderr: &errb, Getenv: os.Getenv}); code != cli.ExitOK {
		b.Fatalf("sithseid agent: exit %d: %s", code, errb.String())
	}
	c, err := localapi.DialAddress(ctx, filepath.Join(run, "sithseid", "agent.sock"))
	if err != nil {
		b.Fatal(err)
	}
	info, err := c.Ping(ctx)
	if err != nil {
		c.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { stopProcess(info.PID) })
	if trayUp != nil {
		trayUp(info.PID)
	}
	// Wait until the agent has read the card, then hang up: idle means no
	// client either.
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	events, err := c.Subscribe(sctx)
	if err != nil {
		cancel()
		c.Close()
		b.Fatal(err)
	}
	ready := false
	for ev := range events {
		if ev.State != nil && ev.State.Card != nil && ev.State.Busy == "" {
			ready = true
			break
		}
	}
	cancel()
	c.Close()
	if !ready {
		b.Fatal("the agent did not read the card within 15 s")
	}
	time.Sleep(200 * time.Millisecond) // the identity read's last APDU

	b.ResetTimer()
	apdus0 := card.Server.Stats().APDUs
	cpu0, wake0 := procTimes(b, info.PID)
	time.Sleep(idle)
	cpu1, wake1 := procTimes(b, info.PID)
	if wake1 == 0 {
		// Starting and reading the card cost context switches: none at all
		// means the counter reads the wrong thing.
		b.Fatalf("no context switch counted for process %d since its start", info.PID)
	}
	m := &idleResult{
		idle:    idle,
		cpu:     cpu1 - cpu0,
		wakeups: wake1 - wake0,
		apdus:   card.Server.Stats().APDUs - apdus0,
		rssMB:   procRSSMB(b, info.PID),
	}
	b.StopTimer()
	benchLine("agent_idle_seconds", m.idle.Seconds(), "s")
	benchLine("agent_idle_cpu_seconds", m.cpu.Seconds(), "s")
	benchLine("agent_idle_wakeups", float64(m.wakeups), "count")
	benchLine("agent_idle_wakeups_per_second", float64(m.wakeups)/m.idle.Seconds(), "1/s")
	benchLine("agent_idle_apdus", float64(m.apdus), "apdus")
	benchLine("agent_idle_rss_mb", m.rssMB, "MB")
	return m
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
