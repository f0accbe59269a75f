package winelane_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

const runKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`

// installMSI installs the lane's MSI with ENV=DEMO for the test and
// uninstalls it when the test ends.
func (l *lane) installMSI(t *testing.T) {
	t.Helper()
	if l.msi == "" {
		t.Fatal("no MSI in the lane (scripts/wine-lane)")
	}
	if out, code := l.wine(t, "msiexec", "/i", winPath(l.msi), "/qn", "ENV=DEMO"); code != 0 {
		t.Fatalf("msiexec /i: exit %d %s", code, out)
	}
	t.Cleanup(func() {
		if out, code := l.wine(t, "msiexec", "/x", winPath(l.msi), "/qn"); code != 0 {
			t.Errorf("msiexec /x: exit %d %s", code, out)
		}
	})
}

// unixPath is a path in the prefix's C: drive as a Unix path.
func (l *lane) unixPath(win string) string {
	rest, ok := strings.CutPrefix(win, `C:\`)
	if !ok {
		return win
	}
	return filepath.Join(l.prefix, "drive_c", strings.ReplaceAll(rest, `\`, "/"))
}

// runCommand is the MSI's Run entry, split into the exe (a Unix path) and
// its arguments.
func (l *lane) runCommand(t *testing.T) (string, []string) {
	t.Helper()
	_, v, ok := l.regValue(t, runKey, "SITHS eID")
	m := regexp.MustCompile(`^"([^"]+)"\s*(.*)$`).FindStringSubmatch(v)
	if !ok || m == nil {
		t.Fatalf("HKLM Run 'SITHS eID' = %q (found %v)", v, ok)
	}
	return l.unixPath(m[1]), strings.Fields(m[2])
}

// The agent as Windows starts it at logon (the MSI's machine-wide Run
// command line) serves the session's named pipe, and the CLI goes through
// it: the CLI here has no card access of its own (its winscard bridge is
// turned off, as a smart card service that is not there), so its status
// comes from the agent's card. A second agent in the session exits 15.
func TestWindowsAgentNamedPipe(t *testing.T) {
	l := newLane(t)
	p := rig.Require(t)
	p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime}, vcard.RunOptions{})
	d := desktoptest.StartXvfb(t)
	l.installMSI(t)
	exe, args := l.runCommand(t)
	if len(args) != 1 || args[0] != "agent" {
		t.Fatalf("the Run command's arguments %q, want [agent]", args)
	}

	noCard := l.env(append(d.Env(), "WINELANE_SCARD_DISABLE=1")...)
	if r := l.runExe(t, exe, noCard, "", "status", "--json"); r.code != exitcode.NoReader {
		t.Fatalf("without an agent the CLI without card access: exit %d, want %d\n%s%s", r.code, exitcode.NoReader, r.stdout, r.stderr)
	}

	// The Run command starts the agent, which goes on detached ("agent
	// --foreground --socket \\.\pipe\…"): the command itself ends.
	// Every process of the prefix ends with the test (wineserver -k),
	// before the uninstall (cleanups run last first).
	t.Cleanup(func() {
		k := exec.Command("wineserver", "-k")
		k.Env = l.env()
		_ = k.Run()
		w := exec.Command("wineserver", "-w")
		w.Env = l.env()
		_ = w.Run()
	})
	agent := exec.Command("wine", append([]string{exe}, args...)...)
	agent.Env = l.env(d.Env()...)
	agentLog := outFile(t)
	agent.Stdout, agent.Stderr = agentLog, agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	if err, ok := wait.TryRecv(exited, 60*time.Second); !ok {
		_ = agent.Process.Kill()
		t.Fatalf("the Run command did not end within 60 s\n%s", readOut(t, agentLog))
	} else if err != nil {
		t.Fatalf("the Run command: %v\n%s", err, readOut(t, agentLog))
	}

	// Until the agent serves its pipe the CLI finds no card; then it does.
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := l.runExe(t, exe, noCard, "", "status", "--json")
		if r.code == exitcode.OK {
			if !strings.Contains(r.stdout, testpki.DefaultHSAID) {
				t.Errorf("status through the agent does not show the card's HSA-ID:\n%s", r.stdout)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the CLI did not reach the card through the agent within 90 s: exit %d\n%s%s\nagent:\n%s", r.code, r.stdout, r.stderr, readOut(t, agentLog))
		}
		time.Sleep(500 * time.Millisecond)
	}

	// A second agent in the same session.
	if r := l.runExe(t, exe, l.env(d.Env()...), "", args...); r.code != exitcode.AgentRunning {
		t.Errorf("a second agent: exit %d, want %d\n%s%s", r.code, exitcode.AgentRunning, r.stdout, r.stderr)
	}
}
