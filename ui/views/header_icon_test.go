package views

import (
	"fmt"
	"image"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"
	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/ui/tray/icons"
)

// The header's state icon is drawn at the pixel size the canvas needs, not
// scaled from the tray's 64 px file: at 100, 150 and 200 % the 32-unit icon
// is the state's picture drawn at 32, 48 and 64 px, pixel for pixel (a
// scaled raster is soft, and at 200 % GL filtering made it softer still).
func TestHeaderIconSharpAtAnyScale(t *testing.T) {
	test.NewTempApp(t)
	for _, st := range []CardState{StateReady, StatePINBlocked, StateNoCard, StateServiceDown} {
		for _, sc := range []float32{1, 1.5, 2} {
			s := newStateImage()
			s.show(st)
			got := capture(s, sc)
			px := int(32 * sc)
			want, err := icons.Draw(string(st), px)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(got, want); d != "" {
				t.Errorf("%s at %v×: %s", st, sc, d)
			}
		}
	}
	// The wrong environment's icon is the theme's (an SVG): something is
	// drawn there too.
	s := newStateImage()
	s.show(StateWrongEnv)
	if s.Resource == nil || opaque(capture(s, 2)) == 0 {
		t.Error("the wrong environment's icon draws nothing")
	}
}

// capture draws o alone, 32 units square, at scale sc on a transparent canvas.
func capture(o fyne.CanvasObject, sc float32) image.Image {
	c := software.NewTransparentCanvas()
	c.SetPadded(false)
	c.SetScale(sc)
	c.SetContent(o)
	c.Resize(fyne.NewSquareSize(32))
	return c.Capture()
}

// diff says where got differs from want by more than rounding (2 in 255
// per premultiplied channel).
func diff(got, want image.Image) string {
	if got.Bounds().Size() != want.Bounds().Size() {
		return fmt.Sprintf("%v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	bad, worst := 0, uint32(0)
	for y := 0; y < want.Bounds().Dy(); y++ {
		for x := 0; x < want.Bounds().Dx(); x++ {
			r1, g1, b1, a1 := got.At(got.Bounds().Min.X+x, got.Bounds().Min.Y+y).RGBA()
			r2, g2, b2, a2 := want.At(want.Bounds().Min.X+x, want.Bounds().Min.Y+y).RGBA()
			d := max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2), absDiff(a1, a2)) >> 8
			if d > 2 {
				bad++
			}
			worst = max(worst, d)
		}
	}
	if bad > 0 {
		return fmt.Sprintf("%d pixels differ (up to %d)", bad, worst)
	}
	return ""
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func opaque(img image.Image) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a > 0x8000 {
				n++
			}
		}
	}
	return n
}
