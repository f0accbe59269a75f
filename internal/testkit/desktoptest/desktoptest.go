//go:build linux

// Package desktoptest gives tests the parts of a desktop session: a private
// X server (Xvfb) and the product's binaries, built once per test binary,
// so that a test runs sithseid as the OS would (URL handler, agent, window
// process) and looks at its real windows.
//
// Both end with the test binary: Xvfb has a parent-death signal and a
// cleanup, and Main removes the binaries. Imported by tests only.
package desktoptest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// Display is a private X server.
type Display struct {
	// Name is ":N".
	Name string
}

// Env is the environment a program needs to use the display.
func (d *Display) Env() []string { return []string{"DISPLAY=" + d.Name} }

// DieWithTest makes a child end with the test binary (Linux's
// parent-death signal), even when it is killed before its cleanups run.
func DieWithTest() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// StartXvfb runs Xvfb on a display number it picks itself (and reports on
// -displayfd, so parallel test binaries never collide) until tb ends.
func StartXvfb(tb testing.TB) *Display {
	tb.Helper()
	return StartXvfbScreen(tb, 1280, 900)
}

// StartXvfbScreen is StartXvfb with a screen of width×height pixels: the
// screenshots at 200 % need more than the default 1280×900 (a window
// larger than the screen is cut off).
func StartXvfbScreen(tb testing.TB, width, height int) *Display {
	tb.Helper()
	xvfb := testenv.LookPath(tb, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height), "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = DieWithTest()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w.Close()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		num <- strings.TrimSpace(line)
	}()
	select {
	case n := <-num:
		if _, err := strconv.Atoi(n); err != nil {
			tb.Fatalf("Xvfb did not start (%q): %s", n, stderr.String())
		}
		return &Display{Name: ":" + n}
	case <-time.After(20 * time.Second):
		tb.Fatalf("Xvfb did not report a display: %s", stderr.String())
	}
	return nil
}

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// Binaries returns a directory holding sithseid, sithseid-ui (the
// windows) and sithseid-idp, built from this module once per test binary
// (with the Go build cache, link steps after "make build").
func Binaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "sithseid-test-bin-")
		if binErr == nil {
			binErr = build(binDir, ".", "./cmd/sithseid-ui", "./cmd/sithseid-idp")
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binDir
}

// Sithseid is the path of the product's binary (see Binaries).
func Sithseid(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Binaries(tb), "sithseid")
}

// SithseidUI is the path of the windows' executable, sithseid-ui (see
// Binaries): what the agent starts for a window, and "sithseid ui" runs.
func SithseidUI(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Binaries(tb), "sithseid-ui")
}

// Main runs the tests and removes the binaries afterwards; wrap it around
// the package's own TestMain body: os.Exit(desktoptest.Main(m, rig.Main)).
func Main(m *testing.M, run func(*testing.M) int) int {
	code := run(m)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}
