package tray

// A left click opens the status window, the right button the menu, as on
// every Windows tray icon.
const openStatusOnTap = true

func prepare() {}
