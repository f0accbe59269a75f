//go:build windows

package appid

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	shell32      = windows.NewLazySystemDLL("shell32.dll")
	procSetAUMID = shell32.NewProc("SetCurrentProcessExplicitAppUserModelID")
	procGetAUMID = shell32.NewProc("GetCurrentProcessExplicitAppUserModelID")
)

// Apply makes AppUserModelID this process's explicit AppUserModelID. It
// must run before the process shows anything (a window, the tray icon).
func Apply() error {
	id, err := windows.UTF16PtrFromString(AppUserModelID)
	if err != nil {
		return err
	}
	if err := procSetAUMID.Find(); err != nil {
		return err
	}
	if hr, _, _ := procSetAUMID.Call(uintptr(unsafe.Pointer(id))); int32(hr) < 0 {
		return fmt.Errorf("SetCurrentProcessExplicitAppUserModelID: %w", windows.Errno(hr))
	}
	return nil
}

// Current is this process's explicit AppUserModelID ("" if it has none).
func Current() (string, error) {
	if err := procGetAUMID.Find(); err != nil {
		return "", err
	}
	var p *uint16
	hr, _, _ := procGetAUMID.Call(uintptr(unsafe.Pointer(&p)))
	if int32(hr) < 0 {
		return "", fmt.Errorf("GetCurrentProcessExplicitAppUserModelID: %w", windows.Errno(hr))
	}
	if p == nil {
		return "", nil
	}
	defer windows.CoTaskMemFree(unsafe.Pointer(p))
	return windows.UTF16PtrToString(p), nil
}
