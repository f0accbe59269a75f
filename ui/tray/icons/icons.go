// Package icons holds the tray's state icons as PNG, for the windows'
// header to show the same pictures as the tray (no systray, no GL).
package icons

import "embed"

// FS holds <state>.png (ready, nocard, noreader, pinblocked, expiring,
// busy, servicedown), drawn by ../gen_icons.go.
//
//go:embed *.png
var FS embed.FS
