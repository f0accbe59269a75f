package tray

import (
	"image"
	"image/color"
	"testing"

	"github.com/sithseid/sithseid/ui/tray/internal/trayicon"
)

// Each state has a glyph of its own: without colour (a monochrome panel
// theme, a colour-blind person) every two icons still differ in shape. The
// icons, drawn at the tray's size and at a 22 px panel's, are turned to
// grey over a mid-grey panel; every pair differs by more than an eighth of
// the grey scale at a handful of pixels at least.
func TestIconsDifferInGreyscale(t *testing.T) {
	src := base(t)
	for _, size := range []int{trayicon.Size, 22} {
		minPixels := size * size / 256 // 16 at 64 px, 1 at 22 px
		if minPixels < 2 {
			minPixels = 2
		}
		grey := make([]*image.Gray, len(trayicon.Variants))
		for i, v := range trayicon.Variants {
			grey[i] = toGrey(trayicon.Draw(src, v, size))
		}
		for i := range grey {
			for j := i + 1; j < len(grey); j++ {
				n := 0
				for k := range grey[i].Pix {
					d := int(grey[i].Pix[k]) - int(grey[j].Pix[k])
					if d > 32 || d < -32 {
						n++
					}
				}
				if n < minPixels {
					t.Errorf("%d px: %s and %s differ at %d pixels in greyscale (want %d or more): only their colour tells them apart",
						size, trayicon.Variants[i].Name, trayicon.Variants[j].Name, n, minPixels)
				}
			}
		}
	}
}

// toGrey composites img over a mid-grey panel and takes its luma.
func toGrey(img *image.NRGBA) *image.Gray {
	out := image.NewGray(img.Bounds())
	for k := 0; k < len(img.Pix); k += 4 {
		p := img.Pix[k : k+4]
		y := (299*int(p[0]) + 587*int(p[1]) + 114*int(p[2])) / 1000
		a := int(p[3])
		out.Pix[k/4] = color.Gray{uint8((y*a + 0x80*(255-a)) / 255)}.Y
	}
	return out
}
