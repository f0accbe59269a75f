// Package appid is the application's one identity on the desktop, the
// same in every process that shows something: on Windows the explicit
// AppUserModelID of the agent (tray icon) and of the window processes,
// which the Start menu's shortcut also carries (packaging/msi: its
// System.AppUserModel.ID), so the taskbar groups the windows with the
// shortcut and pins them as one application; on Linux the windows'
// WM_CLASS does that job (ui.WindowClass).
package appid

// AppUserModelID is the AppUserModelID on Windows: the application's ID
// (FyneApp.toml, ui.AppID). At most 128 characters, no spaces.
const AppUserModelID = "io.github.sithseid.desktop"
