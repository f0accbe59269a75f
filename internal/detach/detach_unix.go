//go:build unix

// Package detach starts processes that outlive their starter.
package detach

import "syscall"

// SysProcAttr makes a spawned agent its own session leader, so the terminal or
// browser that started the URL handler does not take it down on exit.
func SysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
