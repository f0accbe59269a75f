package rig

import (
	"errors"
	"fmt"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"os"
	"testing"
)

var (
	current  *PCSCD
	startErr error
)

// Main is a TestMain body for packages that use PC/SC in-process:
//
//	func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }
//
// It starts a private pcscd and points PCSCLITE_CSOCK_NAME at it before any
// test runs (libpcsclite reads that variable once per process), runs the
// tests and stops pcscd. When pcscd cannot start, the tests still run:
// Require then skips (machine without pcscd) or fails (anything else).
func Main(m *testing.M) int {
	p, err := StartPCSCD()
	if err != nil {
		startErr = err
		fmt.Fprintln(os.Stderr, "rig:", err)
		return m.Run()
	}
	current = p
	if err := os.Setenv(EnvSocket, p.Socket()); err != nil {
		startErr = err
	}
	code := m.Run()
	if err := p.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "rig: closing pcscd:", err)
	}
	current = nil
	return code
}

// Current is the pcscd Main started, or nil.
func Current() *PCSCD { return current }

// Require returns the pcscd Main started. It skips tb when this machine
// cannot run a private pcscd at all, and fails it when Main was not used or
// pcscd failed to start for another reason.
func Require(tb testing.TB) *PCSCD {
	tb.Helper()
	switch {
	case current != nil:
		return current
	case errors.Is(startErr, ErrUnavailable):
		testenv.Missing(tb, "no private pcscd on this machine: %v", startErr)
	case startErr != nil:
		tb.Fatalf("private pcscd did not start: %v", startErr)
	default:
		tb.Fatal("rig.Require without rig.Main in TestMain")
	}
	return nil
}

// New starts a pcscd of tb's own (not the process-wide one, so in-process
// PC/SC calls do not reach it: use it through Env from subprocesses) and
// closes it when tb ends. It skips when the machine cannot run one.
func New(tb testing.TB) *PCSCD {
	tb.Helper()
	p, err := StartPCSCD()
	if errors.Is(err, ErrUnavailable) {
		testenv.Missing(tb, "no private pcscd on this machine: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("closing pcscd: %v", err)
		}
	})
	return p
}
