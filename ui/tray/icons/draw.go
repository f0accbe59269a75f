package icons

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"sync"

	"github.com/sithseid/sithseid/assets"
	"github.com/sithseid/sithseid/ui/tray/internal/trayicon"
)

// Draw draws the state icon name (one of FS's file names without ".png")
// at size×size pixels from the product icon, exactly as the tray's files
// are drawn (ui/tray/internal/trayicon): at 64 px it is the file's
// picture. It is for a canvas that needs another size than the files'
// 64 px, such as a window's header at 100, 150 or 200 % scale, so that
// nothing scales a raster there and the picture stays sharp. The tray's
// own PNG and ICO files are not drawn here.
func Draw(name string, size int) (*image.NRGBA, error) {
	if size <= 0 || size > 1024 {
		return nil, fmt.Errorf("icons: size %d out of range", size)
	}
	for _, v := range trayicon.Variants {
		if v.Name == name {
			base, err := productIcon()
			if err != nil {
				return nil, err
			}
			return trayicon.Draw(base, v, size), nil
		}
	}
	return nil, fmt.Errorf("icons: no state icon %q", name)
}

// productIcon is assets/icons/sithseid.png, decoded once.
var productIcon = sync.OnceValues(func() (image.Image, error) {
	return png.Decode(bytes.NewReader(assets.WindowIcon()))
})
