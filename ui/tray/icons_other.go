//go:build !windows

package tray

import "embed"

//go:embed icons/*.png
var iconFS embed.FS

const iconExt = ".png"
