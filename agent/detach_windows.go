//go:build windows

package agent

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// detached starts a spawned agent without a console and outside the
// starter's process group.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS, HideWindow: true}
}
