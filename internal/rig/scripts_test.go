package rig

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the module root, two directories up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestScriptsParse checks every shell script the Makefile and CI run.
func TestScriptsParse(t *testing.T) {
	root := repoRoot(t)
	for _, s := range []string{"scripts/setup", "scripts/rig", "scripts/demo", ".ci/run"} {
		path := filepath.Join(root, s)
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
		if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
}

// TestSetupQuietWhenInstalled runs scripts/setup on a machine that has
// every package: it must do nothing and say nothing.
func TestSetupQuietWhenInstalled(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian system")
	}
	root := repoRoot(t)
	// The package list, as the script has it, checked here first: with a
	// package missing, running the script would install it.
	b, err := os.ReadFile(filepath.Join(root, "scripts/setup"))
	if err != nil {
		t.Fatal(err)
	}
	list := string(b)
	list = list[strings.Index(list, "packages=(")+len("packages=(") : strings.Index(list, "\n)")]
	var pkgs []string
	for _, line := range strings.Split(list, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		pkgs = append(pkgs, strings.Fields(line)...)
	}
	if len(pkgs) < 10 {
		t.Fatalf("package list parsed as %q", pkgs)
	}
	out, err := exec.Command("dpkg-query", append([]string{"-W", "-f=${db:Status-Status}\n"}, pkgs...)...).Output()
	if err != nil || strings.Count(string(out), "installed\n") != len(pkgs) {
		t.Skipf("not every package is installed here (%v): scripts/setup would install them", err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts/setup"))
	got, err := cmd.CombinedOutput()
	if err != nil || len(got) != 0 {
		t.Fatalf("scripts/setup with everything installed: %v, output %q", err, got)
	}
}

func TestRigUsage(t *testing.T) {
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts/rig"), "bogus")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage:") {
		t.Fatalf("scripts/rig bogus: %v %q, want exit 2 and usage", err, out)
	}
}
