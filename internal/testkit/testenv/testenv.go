// Package testenv decides what a test does when this machine lacks a tool
// or service it needs: on a developer's machine it skips, saying what to
// install; on CI (CI=true) it fails, because scripts/setup installs every
// such tool there and a skip would hide a broken setup behind a green run.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// OnCI reports whether the tests run on CI (CI=true, as .ci/run sets it).
func OnCI() bool { return os.Getenv("CI") == "true" }

// Missing ends tb for want of something: Skip, or Fatal on CI.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if OnCI() {
		tb.Fatalf("%s (CI=true: scripts/setup must provide it)", msg)
	}
	tb.Skip(msg)
}

// LookPath returns the path of the program name, or ends tb as Missing
// does.
func LookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, "%s not installed (scripts/setup installs it)", name)
	}
	return p
}

// Stat returns nil when path exists, or ends tb as Missing does.
func Stat(tb testing.TB, path, what string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(tb, "%s not installed (%s): scripts/setup installs it", what, path)
	}
}

// OpenSCModule is the path of Debian's OpenSC PKCS#11 module on this
// machine's architecture (scripts/setup installs opensc): the peer and the
// fallback middleware the tests run against.
var OpenSCModule = func() string {
	arch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	for _, p := range []string{"/usr/lib/" + arch + "/opensc-pkcs11.so", "/usr/lib/opensc-pkcs11.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/usr/lib/" + arch + "/opensc-pkcs11.so"
}()

// ModuleRoot is the directory of this module's go.mod: the first parent of
// this source file that holds one (tests run in their package's directory,
// at any depth).
func ModuleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("testenv: no caller")
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", fmt.Errorf("testenv: no go.mod above %s", file)
		}
	}
}

// Root ends tb as Missing does unless the test runs as root: what it needs
// (giving a file to another uid, running a child as one) only root can do.
// CI runs as root (.ci/run), so there the test runs or fails.
func Root(tb testing.TB, why string) {
	tb.Helper()
	if os.Getuid() != 0 {
		Missing(tb, "needs root %s (CI runs as root)", why)
	}
}

// OptIn returns the value of the environment variable name, and skips tb
// when it is empty, on CI too: the test is one a make target runs on
// purpose (a benchmark, the soak, the screenshots, a helper process), not
// one a missing tool could turn off. how names that target.
func OptIn(tb testing.TB, name, how string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Skipf("%s is not set: %s", name, how)
	}
	return v
}

// GOOS skips tb unless it runs on goos: the test checks that system's
// behaviour (an XDG layout, a systemd unit), which does not exist
// elsewhere. CI runs on Linux, so a Linux test always runs there.
func GOOS(tb testing.TB, goos string) {
	tb.Helper()
	if runtime.GOOS != goos {
		tb.Skipf("%s only (this is %s)", goos, runtime.GOOS)
	}
}

// Short skips tb under go test -short, on CI too (CI never passes -short):
// the test is a slow one (it builds a program, say) that a quick run may
// leave out. why says what makes it slow.
func Short(tb testing.TB, why string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("-short: %s", why)
	}
}
