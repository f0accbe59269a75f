package icons

import (
	"bytes"
	"image"
	"image/png"
	"io/fs"
	"strings"
	"testing"
)

// Drawn at 64 px, each state icon is its committed file's picture (the
// tray's); at the header's sizes it is drawn at that size.
func TestDrawIsTheFilesPicture(t *testing.T) {
	names, err := fs.Glob(FS, "*.png")
	if err != nil || len(names) != 7 {
		t.Fatalf("%d icons, %v", len(names), err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(n, ".png")
		b, _ := fs.ReadFile(FS, n)
		want, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Draw(name, 64)
		if err != nil {
			t.Fatal(err)
		}
		if !same(got, want) {
			t.Errorf("%s drawn at 64 px differs from %s", name, n)
		}
		for _, s := range []int{32, 48, 64, 96, 128} {
			img, err := Draw(name, s)
			if err != nil || img.Bounds() != image.Rect(0, 0, s, s) {
				t.Errorf("%s at %d px: %v %v", name, s, img.Bounds(), err)
			}
		}
	}
	for _, bad := range []struct {
		name string
		size int
	}{{"wrongenv", 32}, {"ready", 0}, {"ready", 5000}} {
		if _, err := Draw(bad.name, bad.size); err == nil {
			t.Errorf("Draw(%q, %d) accepted", bad.name, bad.size)
		}
	}
}

func same(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 || a1>>8 != a2>>8 {
				return false
			}
		}
	}
	return true
}
