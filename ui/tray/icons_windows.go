package tray

import "embed"

//go:embed icons/*.ico
var iconFS embed.FS

const iconExt = ".ico"
