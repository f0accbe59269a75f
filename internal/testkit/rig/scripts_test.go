package rig

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// repoRoot is the module root.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
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
	testenv.LookPath(t, "dpkg-query") // scripts/setup is for Debian and Ubuntu
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
		testenv.Missing(t, "not every package is installed here (%v): scripts/setup would install them", err)
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

// TestRigStartKind checks scripts/rig start's --kind option: a bad kind or
// argument is a usage error (exit 2) before the rig touches anything, so
// no pcscd or card is started and the remembered kind stays as it was.
func TestRigStartKind(t *testing.T) {
	rigDir := t.TempDir()
	kindFile := filepath.Join(rigDir, "kind")
	if err := os.WriteFile(kindFile, []byte("piv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"start", "--kind", "yubikey"}, {"start", "--kind=gemalto"}, {"start", "--kind"}, {"start", "now"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang is a failure
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(t), "scripts/rig"), args...)
		cmd.Env = append(os.Environ(), "RIG_DIR="+rigDir, "SITHSEID_VCARD_BIN=/nonexistent")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("scripts/rig %q: %v %q, want exit 2", args, err, out)
		}
		if !strings.Contains(string(out), "idprime") || !strings.Contains(string(out), "piv") {
			t.Errorf("scripts/rig %q does not name the kinds: %q", args, out)
		}
	}
	if b, err := os.ReadFile(kindFile); err != nil || string(b) != "piv\n" {
		t.Errorf("the remembered kind changed: %q %v", b, err)
	}
	entries, _ := os.ReadDir(rigDir)
	if len(entries) != 1 {
		t.Errorf("the rig wrote files on a usage error: %v", entries)
	}
	// The default kind is idprime; a remembered one wins; reset keeps it.
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts/rig"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	for _, want := range []string{"*) echo idprime ;;", `"$vcard_bin" init --dir "$carddir" --kind "$kind"`, "cmd_reset() {\n\tmkdir -p \"$rigdir\"\n\tstop_vcard\n\trm -rf \"$carddir\"\n\tcmd_start\n}"} {
		if !strings.Contains(script, want) {
			t.Errorf("scripts/rig lacks %q", want)
		}
	}
}
