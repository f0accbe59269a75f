//go:build windows

package ui

import "github.com/sithseid/sithseid/internal/appid"

// setWindowClass makes the window process's AppUserModelID the
// application's (internal/appid), the ID of the agent's tray icon and of
// the Start menu's shortcut (packaging/msi), so the taskbar groups the
// windows with the shortcut and pins them as one application, as WM_CLASS
// does on Linux. It runs before Show creates the window, as Windows asks.
// An error (a Windows without the call, before 7) leaves the grouping by
// executable, which is all that is lost.
func setWindowClass() { _ = appid.Apply() }
