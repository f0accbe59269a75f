//go:build unix

package agent

import "syscall"

// detached makes a spawned agent its own session leader, so the terminal or
// browser that started the URL handler does not take it down on exit.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
