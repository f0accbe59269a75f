package tray

// The menu bar opens the menu on any click; an item's title would show
// as text beside the icon, so none is set.
const openStatusOnTap = false

func prepare() {}
