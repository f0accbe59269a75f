//go:build windows

package agent

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	user32                  = windows.NewLazySystemDLL("user32.dll")
	procSetForegroundWindow = user32.NewProc("SetForegroundWindow")
	procShowWindow          = user32.NewProc("ShowWindow")
	procIsIconic            = user32.NewProc("IsIconic")
	procGetWindow           = user32.NewProc("GetWindow")
	procFlashWindowEx       = user32.NewProc("FlashWindowEx")
)

const (
	swShow    = 5
	swRestore = 9
	gwOwner   = 4
	flashwAll = 3
	// glfwClass is the class of GLFW's windows (its _GLFW_WNDCLASSNAME);
	// glfwHelper the title of its hidden helper window of that class.
	glfwClass  = "GLFW30"
	glfwHelper = "GLFW message window"
)

// raiseProcess brings the window of the window process p to the front
// with the focus: restored when minimised, shown when hidden. The agent
// does it itself, not the window: it has the right to give the foreground
// away right after the click on its tray menu or notification (Windows
// gives it to the process the user just clicked), which the window
// process lacks. A window still starting has no window yet: nothing is
// done then. Should Windows refuse the foreground all the same, the
// window's taskbar button flashes.
func raiseProcess(p *os.Process) error {
	h := processWindow(uint32(p.Pid))
	if h == 0 {
		return errors.New("raising a window: the process has no window yet")
	}
	if r, _, _ := procIsIconic.Call(uintptr(h)); r != 0 {
		procShowWindow.Call(uintptr(h), swRestore)
	} else if !windows.IsWindowVisible(h) {
		procShowWindow.Call(uintptr(h), swShow)
	}
	if r, _, _ := procSetForegroundWindow.Call(uintptr(h)); r == 0 {
		type flashInfo struct {
			size    uint32
			hwnd    windows.HWND
			flags   uint32
			count   uint32
			timeout uint32
		}
		fi := flashInfo{hwnd: h, flags: flashwAll, count: 3}
		fi.size = uint32(unsafe.Sizeof(fi))
		procFlashWindowEx.Call(uintptr(unsafe.Pointer(&fi)))
		return fmt.Errorf("raising a window: Windows kept the foreground (its taskbar button flashes)")
	}
	return nil
}

// processWindow is the top-level GLFW window of the process pid (not its
// hidden helper window), or 0.
func processWindow(pid uint32) windows.HWND {
	search.Lock()
	defer search.Unlock()
	search.pid, search.found = pid, 0
	_ = windows.EnumWindows(enumWindowsCallback(), nil) // stopping early reports an error
	return search.found
}

// search is what the one EnumWindows callback looks for: Go makes a
// limited number of callbacks in a process, never freed, so there is one,
// made once, for every raise.
var search struct {
	sync.Mutex
	pid   uint32
	found windows.HWND
}

var enumWindowsCallback = sync.OnceValue(func() uintptr {
	return syscall.NewCallback(func(h windows.HWND, _ uintptr) uintptr {
		var owner uint32
		if _, err := windows.GetWindowThreadProcessId(h, &owner); err != nil || owner != search.pid {
			return 1
		}
		if o, _, _ := procGetWindow.Call(uintptr(h), gwOwner); o != 0 {
			return 1
		}
		buf := make([]uint16, 64)
		if n, err := windows.GetClassName(h, &buf[0], int32(len(buf))); err != nil || windows.UTF16ToString(buf[:n]) != glfwClass {
			return 1
		}
		if windowText(h) == glfwHelper {
			return 1
		}
		search.found = h
		return 0
	})
})

var procGetWindowTextW = user32.NewProc("GetWindowTextW")

func windowText(h windows.HWND) string {
	buf := make([]uint16, 128)
	n, _, _ := procGetWindowTextW.Call(uintptr(h), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	return windows.UTF16ToString(buf[:n])
}
