package tray

// A left click opens the status window, the right button the menu, as on
// every Windows tray icon.
const openStatusOnTap = true

// prepare has nothing to do before systray.Run here: the tray's window
// exists only once Run has started, so the icon is set in ready.
func prepare(icon []byte, tooltip string) {}
