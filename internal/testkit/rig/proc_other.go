//go:build !linux

package rig

import (
	"errors"
	"syscall"
)

// The rig needs Linux: pcscd with the vpcd driver, /proc and
// systemd-socket-activate. Elsewhere StartPCSCD fails in Available.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func listensOn(int, ...int) (bool, error) {
	return false, errors.New("rig: only on Linux")
}

func readPIDFile() string { return "" }

func fixPIDFile(string) {}
