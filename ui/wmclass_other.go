//go:build !linux && !windows

package ui

// setWindowClass: the X11 WM_CLASS is Linux's; Windows has its
// AppUserModelID (wmclass_windows.go).
func setWindowClass() {}
