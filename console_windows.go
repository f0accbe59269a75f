//go:build windows

package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachParentConsole gives the command line its output on Windows. The
// binary is linked with -H=windowsgui (no console window flashes when the
// browser, the Run key or a shortcut starts it), so a command typed in
// cmd.exe or PowerShell has no standard handles: each one that is not
// redirected is pointed at the console of the process that started it.
// Started by anything without a console, AttachConsole fails and nothing
// changes.
func attachParentConsole() {
	stdin, stdout, stderr := usable(windows.STD_INPUT_HANDLE), usable(windows.STD_OUTPUT_HANDLE), usable(windows.STD_ERROR_HANDLE)
	if stdin && stdout && stderr {
		return // redirected, or a console program's handles: keep them
	}
	attach := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS (DWORD -1)
	if r, _, _ := attach.Call(attachParentProcess); r == 0 {
		return
	}
	if !stdout {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			os.Stdout = f
		}
	}
	if !stderr {
		if f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0); err == nil {
			os.Stderr = f
		}
	}
	if !stdin {
		if f, err := os.OpenFile("CONIN$", os.O_RDWR, 0); err == nil {
			os.Stdin = f
		}
	}
}

// usable reports whether the standard handle std is open (a file, pipe or
// console).
func usable(std uint32) bool {
	h, err := windows.GetStdHandle(std)
	if err != nil || h == 0 || h == windows.InvalidHandle {
		return false
	}
	t, err := windows.GetFileType(h)
	return err == nil && t != windows.FILE_TYPE_UNKNOWN
}
