package winelane_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
)

// The local API's fair shares hold on Windows too (docs/protocol.md 8.13):
// the agent knows the process at the other end of its named pipe
// (GetNamedPipeClientProcessId), so one process that floods it
// (winehelper flood: connections from one process until refused) gets
// localapi.DefaultMaxConnsPerPeer connections and then tooManyConnections,
// while `sithseid status` from another process (with no card access of its
// own: the bridge off) is still answered through the agent, and the
// flood's held connections still answer after. Without the pipe's client
// process id every connection would count as its own process and the flood
// would never be refused.
func TestWindowsAgentFloodFromOneProcess(t *testing.T) {
	t0 := time.Now()
	d := desktoptest.StartXvfb(t)
	l := newLaneOn(t, d.Env()...)
	p := rig.Require(t)
	p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime}, vcard.RunOptions{})
	helper := filepath.Join(l.dir, "winehelper.exe")
	t.Cleanup(func() { l.killAll() })

	agent := exec.Command("wine", l.exe, "agent", "--foreground")
	agent.Env = l.env()
	agentOut := outFile(t)
	agent.Stdout, agent.Stderr = agentOut, agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	t.Cleanup(func() {
		_ = agent.Process.Kill()
		wait.TryRecv(exited, 30*time.Second)
	})

	noCard := l.env("WINELANE_SCARD_DISABLE=1")
	status := func(what string) result {
		r := l.runExe(t, l.exe, noCard, "", "status", "--json")
		if r.code == exitcode.OK && !strings.Contains(r.stdout, testpki.DefaultHSAID) {
			t.Errorf("%s: status through the agent does not show the card's HSA-ID:\n%s", what, r.stdout)
		}
		return r
	}
	// Until the agent serves its pipe the CLI finds no card; then it does.
	deadline := time.Now().Add(90 * time.Second)
	for r := status("before the flood"); r.code != exitcode.OK; r = status("before the flood") {
		if time.Now().After(deadline) {
			t.Fatalf("the CLI did not reach the card through the agent within 90 s: exit %d\n%s%s\nagent:\n%s", r.code, r.stdout, r.stderr, readOut(t, agentOut))
		}
		time.Sleep(500 * time.Millisecond)
	}

	t.Logf("the agent answers after %.1f s", time.Since(t0).Seconds())

	// The flood: one process, connections until refused, held.
	stop := filepath.Join(t.TempDir(), "stop")
	flood := exec.Command("wine", helper, "flood", winPath(stop))
	flood.Env = l.env()
	floodOut := outFile(t)
	flood.Stdout, flood.Stderr = floodOut, floodOut
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	// floodDone is closed when the helper has ended, floodErr its end.
	floodDone := make(chan struct{})
	var floodErr error
	go func() { floodErr = flood.Wait(); close(floodDone) }()
	t.Cleanup(func() {
		_ = os.WriteFile(stop, nil, 0o600)
		if _, ok := wait.TryRecv(floodDone, 30*time.Second); !ok {
			_ = flood.Process.Kill()
			wait.TryRecv(floodDone, 30*time.Second)
		}
	})
	holding := wait.Until(2*time.Minute, func() bool {
		select {
		case <-floodDone:
			return true
		default:
		}
		return strings.Contains(readOut(t, floodOut), "holding")
	})
	out := readOut(t, floodOut)
	if !holding || !strings.Contains(out, "holding") {
		t.Fatalf("winehelper flood did not get to hold its connections within 2 minutes:\n%s\nagent:\n%s", out, readOut(t, agentOut))
	}
	t.Logf("winehelper flood after %.1f s:\n%s", time.Since(t0).Seconds(), out)
	if want := fmt.Sprintf("accepted %d\n", localapi.DefaultMaxConnsPerPeer); !strings.Contains(out, want) {
		t.Errorf("the flooding process was not given exactly %d connections:\n%s", localapi.DefaultMaxConnsPerPeer, out)
	}
	if !strings.Contains(out, "refused: tooManyConnections") {
		t.Errorf("the connection over the bound was not refused with tooManyConnections:\n%s", out)
	}

	// Another process while the flood holds its connections.
	if r := status("during the flood"); r.code != exitcode.OK {
		t.Errorf("status from another process during the flood: exit %d\n%s%s\nagent:\n%s", r.code, r.stdout, r.stderr, readOut(t, agentOut))
	}
	t.Logf("status during the flood answered after %.1f s", time.Since(t0).Seconds())

	// The flood's own connections were not cut.
	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := wait.TryRecv(floodDone, 60*time.Second); !ok {
		t.Fatalf("winehelper flood did not end within 60 s of its stop file:\n%s", readOut(t, floodOut))
	}
	if out := readOut(t, floodOut); floodErr != nil || !strings.Contains(out, "held connections still answer") {
		t.Errorf("winehelper flood: %v\n%s", floodErr, out)
	}
	t.Logf("the flood ended after %.1f s", time.Since(t0).Seconds())
}
