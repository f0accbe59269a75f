package assets

import _ "embed"

//go:embed icons/sithseid.png
var windowIcon []byte

// WindowIcon is the product's icon as PNG, for the windows' title bars.
func WindowIcon() []byte { return windowIcon }
