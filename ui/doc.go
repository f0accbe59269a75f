// Package ui holds the Fyne windows (the "sithseid ui" process) and the tray
// menu (the agent). It renders state and forwards clicks; the logic lives in
// the app package.
package ui
