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
