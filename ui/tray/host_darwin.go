package tray

// The menu bar opens the menu on any click; an item's title would show
// as text beside the icon, so none is set.
const openStatusOnTap = false

// prepare has nothing to do before systray.Run here: the tray's window
// exists only once Run has started, so the icon is set in ready.
func prepare(icon []byte, tooltip string) {}
