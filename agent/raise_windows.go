//go:build windows

package agent

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
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
// process lacks.
//
// A raise must not be lost: a window still starting has no window yet,
// and Windows activates another process's window through that window's
// thread, which may be slow on a loaded machine. So the raise is tried
// again every raiseEvery until the window is the foreground window and
// still is raiseSettle later, for up to raiseFor (it blocks that long at
// most: the launcher runs it apart from its lock). Should Windows refuse
// the foreground (SetForegroundWindow fails), or keep it from the window
// all the same, the window's taskbar button flashes.
func raiseProcess(p *os.Process) error {
	pid := uint32(p.Pid)
	deadline := time.Now().Add(raiseFor)
	var h windows.HWND
	tries := 0
	for {
		if h == 0 || !windows.IsWindow(h) {
			h = processWindow(pid)
		}
		if h != 0 {
			tries++
			// Windows may give the foreground back to the window that had
			// it when that window's thread handles its own activation late
			// (seen under Wine on a loaded machine: SetForegroundWindow
			// succeeded, the other window had the foreground after): h
			// must still be in front a moment later.
			front, refused := raiseWindow(h)
			if front && sleepThen(raiseSettle, func() bool { return inFront(h) }) {
				return nil
			}
			if refused {
				// Windows said no (the foreground lock): it will not
				// change its mind on a retry.
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(raiseEvery)
	}
	if h == 0 {
		return fmt.Errorf("raising a window: the process has no window after %v", raiseFor)
	}
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
	return fmt.Errorf("raising a window: Windows kept the foreground (%d tries; its taskbar button flashes)", tries)
}

const (
	raiseFor   = 15 * time.Second
	raiseEvery = 100 * time.Millisecond
	// raiseSettle: how long a raised window must stay in front.
	raiseSettle = 300 * time.Millisecond
)

// raiseWindow restores or shows h and asks for the foreground for it; it
// reports whether h is then the foreground window, not minimised, and
// whether Windows refused the foreground.
func raiseWindow(h windows.HWND) (front, refused bool) {
	if r, _, _ := procIsIconic.Call(uintptr(h)); r != 0 {
		procShowWindow.Call(uintptr(h), swRestore)
	} else if !windows.IsWindowVisible(h) {
		procShowWindow.Call(uintptr(h), swShow)
	}
	if windows.GetForegroundWindow() != h {
		if r, _, _ := procSetForegroundWindow.Call(uintptr(h)); r == 0 {
			return false, true
		}
	}
	return inFront(h), false
}

// inFront: h is the foreground window, not minimised.
func inFront(h windows.HWND) bool {
	r, _, _ := procIsIconic.Call(uintptr(h))
	return r == 0 && windows.GetForegroundWindow() == h
}

func sleepThen(d time.Duration, ok func() bool) bool {
	time.Sleep(d)
	return ok()
}

// processWindow is the top-level GLFW window of the process pid (not its
// hidden helper window), a visible one if it has one, or 0.
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
		if !windows.IsWindowVisible(h) {
			// A window still being made (GLFW makes them hidden): taken
			// only when the process has no visible one.
			if search.found == 0 {
				search.found = h
			}
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
