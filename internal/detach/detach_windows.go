//go:build windows

package detach

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// SysProcAttr starts a spawned agent without a console and outside the
// starter's process group.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS, HideWindow: true}
}
