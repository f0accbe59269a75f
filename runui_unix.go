//go:build !windows

package main

import (
	"os"
	"syscall"
)

// runUI replaces this process with the ui executable exe, run with args
// (those after "ui"): the same PID, the same environment and standard
// handles, so whoever started "sithseid ui VIEW" (a desktop launcher, a
// script, a test) waits for the window itself and gets its exit code. It
// returns only when exe could not be run.
func runUI(exe string, args []string) error {
	return syscall.Exec(exe, append([]string{exe}, args...), os.Environ())
}
