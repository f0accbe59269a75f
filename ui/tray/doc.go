// Package tray is the agent's icon and menu in the notification area, on
// fyne.io/systray alone: no Fyne app, no GL, so the resident agent idles
// at no CPU (docs/architecture.md). It also raises the agent's desktop
// notifications.
//
// # What it does
//
// It renders what the agent publishes (localapi.State, as a View) and
// forwards clicks as Actions; it decides nothing else. Build maps a View to
// a Menu (icon, tooltip, entries): that mapping is the whole of the tray's
// behaviour and is tested on its own. The systray binding (Tray) applies a
// Menu, changing only what differs, and only when Show is called: there is
// no timer.
//
// # Hosts
//
// On Linux the tray is a StatusNotifierItem with a com.canonical.dbusmenu
// menu on the session bus. Run sets it up only when the session bus
// answers (quitting systray without one panics) and a
// StatusNotifierWatcher (the panel's tray host) owns its name; without a
// watcher (stock GNOME) it waits, at no cost, for one to appear, and the
// agent keeps working meanwhile. Windows and macOS have a native tray.
//
// # Icons
//
// icons/ holds one icon per state, drawn from assets/icons/sithseid.png by
// internal/trayicon ("go generate ./ui/tray"): PNG for Linux and macOS,
// ICO for Windows, as systray wants.
package tray

//go:generate go run gen_icons.go
