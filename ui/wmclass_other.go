//go:build !linux

package ui

// setWindowClass: the X11 WM_CLASS is Linux's. (On Windows the taskbar
// groups the windows with the Start menu's shortcut by the executable
// they share; an explicit AppUserModelID would also need the shortcut to
// carry it, packaging/msi.)
func setWindowClass() {}
