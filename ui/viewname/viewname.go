// Package viewname is the one list of the windows: "sithseid ui VIEW"
// takes these names and the agent (tray, login requests) opens them. It
// imports nothing, so the agent names a window without loading Fyne.
package viewname

// The views. They are a contract between the agent and the ui process
// (and the .desktop launcher's "sithseid ui status"): keep them.
const (
	Status   = "status"
	PIN      = "pin"
	Unblock  = "unblock"
	Certs    = "certs"
	Login    = "login"
	QR       = "qr"
	Settings = "settings"
	About    = "about"
)

// All lists the views in menu order.
var All = []string{Status, PIN, Unblock, Certs, Login, QR, Settings, About}
