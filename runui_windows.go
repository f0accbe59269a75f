//go:build windows

package main

import (
	"errors"
	"os"
	"os/exec"
)

// runUI runs the ui executable exe with args (those after "ui") as a
// child with this process's standard handles and environment, waits for
// it and exits with its exit code (Windows has no exec). It returns only
// when exe could not be started.
func runUI(exe string, args []string) error {
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
	return nil
}
