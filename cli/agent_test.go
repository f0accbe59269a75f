package cli_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// envMain makes the test binary run as sithseid (the agent the URL handler
// starts is "this same binary"). It is checked in init, before TestMain
// starts a pcscd; the child uses the parent's pcscd through the inherited
// PCSCLITE_CSOCK_NAME.
const envMain = "SITHSEID_CLI_TEST_MAIN"

func init() {
	// The test binary as sithseid, in one of three ways: as the URL handler
	// starts it (envMain), with the log file on as main has it
	// (envLoggedMain, the leak test), or logging to standard error
	// (envTrayMain, the tray tests).
	e := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: "test"}
	switch {
	case os.Getenv(envMain) == "1":
	case os.Getenv(envLoggedMain) == "1":
		e.LogToFile = true
	case os.Getenv(envTrayMain) == "1":
		e.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	default:
		return
	}
	e.Args = os.Args[1:]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := sithseidMain(ctx, e)
	stop()
	os.Exit(code)
}

// sithseidMain is main's choice of role for the test binary acting as
// sithseid: "agent" is the agent role's, the rest the CLI's.
func sithseidMain(ctx context.Context, e cli.Env) int {
	if len(e.Args) > 0 && e.Args[0] == "agent" {
		return agent.Run(ctx, agent.Env{Args: e.Args[1:], Stdout: e.Stdout, Stderr: e.Stderr, Getenv: e.Getenv, Version: e.Version, Log: e.Log, LogToFile: e.LogToFile})
	}
	return cli.Run(ctx, e)
}

// The URL handler with no agent running starts one (this binary, "agent
// --foreground") and hands the login over; the next handoff goes to the
// running agent; a second agent refuses; SIGTERM stops the agent and
// removes its socket.
func TestHandoffStartsAgent(t *testing.T) {
	rig.Require(t)
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv(envMain, "1")
	addr := filepath.Join(run, "sithseid", "agent.sock")
	url := oob.AutoStartURL("0b7a4a8c-5c4e-4d2f-9f1e-2b1f3c4d5e6f", "")
	ctx := context.Background()

	var stderr bytes.Buffer
	start := time.Now()
	if code := cli.Handoff(ctx, cli.Env{Getenv: os.Getenv, Stderr: &stderr}, url); code != cli.ExitOK {
		t.Fatalf("handoff with no agent: exit %d: %s", code, stderr.String())
	}
	t.Logf("handoff starting an agent took %v", time.Since(start))
	c, err := localapi.DialAddress(ctx, addr)
	if err != nil {
		t.Fatalf("no agent after the handoff: %v", err)
	}
	defer c.Close()
	info, err := c.Ping(ctx)
	if err != nil || info.PID == os.Getpid() {
		t.Fatalf("ping: %+v %v", info, err)
	}
	agentGone := func() bool { return syscall.Kill(info.PID, 0) != nil }
	t.Cleanup(func() {
		if !agentGone() {
			_ = syscall.Kill(info.PID, syscall.SIGKILL)
		}
	})

	start = time.Now()
	if code := cli.Handoff(ctx, cli.Env{Getenv: os.Getenv, Stderr: &stderr}, url); code != cli.ExitOK {
		t.Fatalf("handoff to the running agent: exit %d: %s", code, stderr.String())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("handoff to a running agent took %v", d)
	}
	sctx, cancel := context.WithCancel(ctx)
	events, err := c.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	st := wait.Recv(t, events, 10*time.Second, "the first event").State
	cancel()
	if st == nil || len(st.Handoffs) != 2 {
		t.Fatalf("agent state after two handoffs: %+v", st)
	}

	// A bad link is refused at once, with the CLI's usage exit code.
	stderr.Reset()
	if code := cli.Handoff(ctx, cli.Env{Getenv: os.Getenv, Stderr: &stderr}, "sithseid:///?nothing=1"); code != cli.ExitUsage {
		t.Fatalf("bad link: exit %d: %s", code, stderr.String())
	}

	// A second agent refuses, in the foreground and detached.
	for _, args := range [][]string{{"agent", "--foreground"}, {"agent"}} {
		var out, errb bytes.Buffer
		code := sithseidMain(ctx, cli.Env{Args: args, Stdout: &out, Stderr: &errb, Getenv: os.Getenv})
		msg := errb.String() // Swedish or English, by the test's locale
		if code != cli.ExitAgentRunning || !(strings.Contains(msg, "already running") || strings.Contains(msg, "körs redan")) {
			t.Fatalf("%v with an agent running: exit %d: %s", args, code, errb.String())
		}
	}

	// SIGTERM: graceful, the socket goes.
	if err := syscall.Kill(info.PID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, serr := os.Stat(addr)
		if errors.Is(serr, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socket still there 5 s after SIGTERM (%v)", serr)
		}
	}
	if _, err := localapi.DialAddress(ctx, addr); !errors.Is(err, localapi.ErrNoAgent) {
		t.Fatalf("dial after SIGTERM: %v", err)
	}

	// "sithseid agent" (detached) starts one again and returns.
	var errb bytes.Buffer
	if code := sithseidMain(ctx, cli.Env{Args: []string{"agent"}, Stdout: &errb, Stderr: &errb, Getenv: os.Getenv}); code != cli.ExitOK {
		t.Fatalf("sithseid agent: exit %d: %s", code, errb.String())
	}
	c2, err := localapi.DialAddress(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	info2, err := c2.Ping(ctx)
	c2.Close()
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(info2.PID, syscall.SIGTERM)
	t.Cleanup(func() { _ = syscall.Kill(info2.PID, syscall.SIGKILL) })
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(info2.PID, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("detached agent did not stop on SIGTERM")
		}
	}
}

// The agent idle with a card present, as its own process: no APDU and next
// to no CPU while nothing happens; RSS is logged. SITHSEID_IDLE sets the
// idle period (the benchmark is SITHSEID_IDLE=60s); default 5 s.
func TestAgentIdle(t *testing.T) {
	idle := 5 * time.Second
	if v := os.Getenv("SITHSEID_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		idle = d
	}
	card := insert(t, 0, testpki.CardSpec{})
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv(envMain, "1")
	ctx := context.Background()
	var errb bytes.Buffer
	if code := sithseidMain(ctx, cli.Env{Args: []string{"agent"}, Stdout: &errb, Stderr: &errb, Getenv: os.Getenv}); code != cli.ExitOK {
		t.Fatalf("sithseid agent: exit %d: %s", code, errb.String())
	}
	c, err := localapi.DialAddress(ctx, filepath.Join(run, "sithseid", "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(info.PID, syscall.SIGTERM)
		for deadline := time.Now().Add(5 * time.Second); syscall.Kill(info.PID, 0) == nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(info.PID, syscall.SIGKILL)
	})
	// Wait until the agent has read the card, then hang up: idle means no
	// client either.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	events, err := c.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
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
		t.Fatal("the agent did not report the card read within 10 s")
	}
	// Ready means the identity read is over: any APDU from here on is one
	// the idle agent sends.

	apdus := card.Server.Stats().APDUs
	cpu0 := procCPU(t, info.PID)
	time.Sleep(idle)
	cpu := procCPU(t, info.PID) - cpu0
	got := card.Server.Stats().APDUs - apdus
	rss := procRSS(t, info.PID)
	t.Logf("agent idle %v with a card: %v CPU, %d APDUs, RSS %s", idle, cpu, got, rss)
	if got != 0 {
		t.Errorf("%d APDUs while idle", got)
	}
	if cpu > idle/100 {
		t.Errorf("%v CPU in %v idle (over 1 %%)", cpu, idle)
	}
}

// procCPU is a process's user+system time from /proc/PID/stat.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields, in clock ticks (100 Hz on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ticks int64
	for _, s := range f[11:13] {
		var n int64
		for _, ch := range s {
			n = n*10 + int64(ch-'0')
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func procRSS(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
		}
	}
	return "?"
}
