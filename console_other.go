//go:build !windows

package main

// attachParentConsole is needed only on Windows (see console_windows.go).
func attachParentConsole() {}
