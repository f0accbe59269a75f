//go:build linux

package ui

import "github.com/go-gl/glfw/v3.3/glfw"

// setWindowClass makes the next window's WM_CLASS the application's
// ("sithseid", "sithseid"), the StartupWMClass of
// packaging/linux/sithseid.desktop, so desktops group the windows with
// the launcher and can pin them. Fyne 2.7 sets no class, and GLFW then
// uses the window title ("Status – SITHS eID"), a different one per view.
// It must run on the main goroutine after GLFW is initialised (Fyne's
// NewWindow) and before the window is shown: GLFW reads its window hints
// when it creates the window, in Show.
func setWindowClass() {
	glfw.WindowHintString(glfw.X11ClassName, WindowClass)
	glfw.WindowHintString(glfw.X11InstanceName, WindowClass)
}
