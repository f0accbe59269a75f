package nodump

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A child that calls Apply is undumpable and has a core limit of 0, as
// /proc/PID/status and /proc/PID/limits show from outside.
func TestApplyLinux(t *testing.T) {
	if c := os.Getenv("NODUMP_CHILD"); c != "" {
		// Cores on, as far as the hard limit allows: Apply must turn
		// them off, whatever the shell had.
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_CORE, &lim) == nil && lim.Max != 0 {
			lim.Cur = lim.Max
			_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)
		}
		if c != "1" {
			os.Stdout.WriteString("ready\n")
			var b [1]byte
			_, _ = os.Stdin.Read(b[:])
			os.Exit(0)
		}
		if err := Apply(); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("ready\n")
		var b [1]byte
		_, _ = os.Stdin.Read(b[:])
		os.Exit(0)
	}
	exe := os.Args[0]
	var sys *syscall.SysProcAttr
	if os.Geteuid() == 0 {
		// Root's processes are root's in /proc, dumpable or not: the
		// child runs as nobody, from a copy of this binary nobody can run.
		exe = copyExecutable(t, exe)
		sys = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	cmd := exec.Command(exe, "-test.run=^TestApplyLinux$")
	cmd.Env = append(os.Environ(), "NODUMP_CHILD=1")
	cmd.SysProcAttr = sys
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	var b [64]byte
	n, _ := out.Read(b[:])
	if !strings.HasPrefix(string(b[:n]), "ready") {
		t.Fatalf("child: %q", b[:n])
	}
	dumpable, core, err := Status(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if dumpable || core != "0" {
		t.Fatalf("child: dumpable %v, core limit %q; want false and 0", dumpable, core)
	}
	// And a child that does not call Apply is dumpable: the check can
	// tell the two apart.
	plain := exec.Command(exe, "-test.run=^TestApplyLinux$")
	plain.Env = append(os.Environ(), "NODUMP_CHILD=plain")
	plain.SysProcAttr = sys
	pin, _ := plain.StdinPipe()
	pout, _ := plain.StdoutPipe()
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pin.Close(); _ = plain.Wait() }()
	n, _ = pout.Read(b[:])
	if !strings.HasPrefix(string(b[:n]), "ready") {
		t.Fatalf("plain child: %q", b[:n])
	}
	d, core, err := Status(plain.Process.Pid)
	if err != nil || !d {
		t.Fatalf("a child without Apply: dumpable %v, %v; want true", d, err)
	}
	t.Logf("a child without Apply: dumpable, core limit %s", core)
}

// copyExecutable copies exe into a directory every user may enter.
func copyExecutable(t *testing.T, exe string) string {
	dir, err := os.MkdirTemp("", "nodump-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "nodump.test")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}
