package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Missing skips off CI and fails on CI: run in a child process so the
// failure is observed, not suffered.
func TestMissingFailsOnCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		Missing(t, "frobnicator not installed")
		return
	}
	for _, ci := range []string{"true", ""} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingFailsOnCI$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch ci {
		case "true":
			if err == nil || !strings.Contains(string(out), "--- FAIL") {
				t.Errorf("CI=true: want a failure, got err=%v\n%s", err, out)
			}
		default:
			if err != nil || !strings.Contains(string(out), "--- SKIP") {
				t.Errorf("off CI: want a skip, got err=%v\n%s", err, out)
			}
		}
	}
}

// OptIn skips on CI too (the test is one a make target runs on purpose),
// and gives the value when it is set.
func TestOptIn(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		OptIn(t, "TESTENV_UNSET_OPT_IN", "a test of OptIn")
		t.Fatal("OptIn did not end the test")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOptIn$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI=true", "TESTENV_UNSET_OPT_IN=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- SKIP") {
		t.Errorf("CI=true, variable unset: want a skip, got err=%v\n%s", err, out)
	}
	t.Setenv("TESTENV_SET_OPT_IN", "x")
	if got := OptIn(t, "TESTENV_SET_OPT_IN", "a test of OptIn"); got != "x" {
		t.Errorf("OptIn = %q, want x", got)
	}
}
