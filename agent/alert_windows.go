//go:build windows

package agent

import (
	"runtime"

	"golang.org/x/sys/windows"
)

// alertUser shows summary and body in a message box of its own and
// returns at once. On Windows the tray library has no notification
// balloon (ui/tray logs notifications there), so what the user must not
// miss (a window that could not open, told once per burst) comes this
// way; elsewhere the desktop notification does it.
func alertUser(summary, body string) {
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		text, err := windows.UTF16PtrFromString(summary + "\n\n" + body)
		if err != nil {
			return
		}
		title, _ := windows.UTF16PtrFromString(alertTitle)
		_, _ = windows.MessageBox(0, text, title, windows.MB_OK|windows.MB_ICONWARNING|windows.MB_SETFOREGROUND|windows.MB_TOPMOST)
	}()
}
