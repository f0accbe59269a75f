package tray

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/ui/tray/internal/trayicon"
)

func base(t *testing.T) image.Image {
	t.Helper()
	b, err := os.ReadFile("../../assets/icons/sithseid.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The committed icons are what the generator draws from the product icon
// now ("go generate ./ui/tray" after changing either), in both formats.
func TestIconsCurrent(t *testing.T) {
	src := base(t)
	if len(trayicon.Variants) != len(Icons) {
		t.Fatalf("%d variants for %d icons", len(trayicon.Variants), len(Icons))
	}
	for i, v := range trayicon.Variants {
		if v.Name != string(Icons[i]) {
			t.Fatalf("variant %d is %q, icon %q", i, v.Name, Icons[i])
		}
		want := trayicon.Draw(src, v, trayicon.Size)
		b, err := os.ReadFile(filepath.Join("icons", v.Name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s.png: %v", v.Name, err)
		}
		if !samePixels(got, want) {
			t.Errorf("icons/%s.png is not what the generator draws: run go generate ./ui/tray", v.Name)
		}
		ico, err := os.ReadFile(filepath.Join("icons", v.Name+".ico"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ico, trayicon.ICO(src, v, trayicon.ICOSizes)) {
			t.Errorf("icons/%s.ico is not what the generator draws: run go generate ./ui/tray", v.Name)
		}
		imgs, err := trayicon.DecodeICO(ico)
		if err != nil || len(imgs) != len(trayicon.ICOSizes) {
			t.Fatalf("%s.ico: %d images, %v", v.Name, len(imgs), err)
		}
		for k, img := range imgs {
			if s := trayicon.ICOSizes[k]; img.Bounds().Dx() != s || img.Bounds().Dy() != s || !samePixels(img, trayicon.Draw(src, v, s)) {
				t.Errorf("%s.ico image %d is not the %d px drawing", v.Name, k, s)
			}
		}
	}
}

// Each state has its own look: no two icons alike, the embedded one per
// platform decodes, and the badge is where the states differ.
func TestIconsDistinct(t *testing.T) {
	imgs := map[Icon]image.Image{}
	for _, i := range Icons {
		b := IconData(i)
		img, err := png.Decode(bytes.NewReader(b)) // PNG on this platform
		if err != nil {
			t.Fatalf("%s: %v", i, err)
		}
		if img.Bounds().Dx() != trayicon.Size {
			t.Fatalf("%s: %v", i, img.Bounds())
		}
		for j, other := range imgs {
			if samePixels(img, other) {
				t.Errorf("%s looks like %s", i, j)
			}
		}
		imgs[i] = img
	}
	// The faded states are grey: no colour left in the card's blue.
	r, g, b, _ := imgs[IconNoCard].At(5, 15).RGBA()
	if r != g || g != b {
		t.Errorf("no-card icon keeps colour at the card's body: %x %x %x", r, g, b)
	}
	r, g, b, _ = imgs[IconReady].At(5, 15).RGBA()
	if b <= r {
		t.Errorf("ready icon's card body is not blue: %x %x %x", r, g, b)
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// An independent decoder (ImageMagick, as Windows' would) reads every ICO
// with all its sizes.
func TestICOReadByImageMagick(t *testing.T) {
	identify := testenv.LookPath(t, "identify") // imagemagick
	for _, i := range Icons {
		out, err := exec.Command(identify, "-format", "%m %wx%h\n", filepath.Join("icons", string(i)+".ico")).CombinedOutput()
		if err != nil {
			t.Fatalf("%s.ico: %v\n%s", i, err, out)
		}
		var want string
		for _, s := range trayicon.ICOSizes {
			want += fmt.Sprintf("ICO %dx%d\n", s, s)
		}
		if string(out) != want {
			t.Errorf("%s.ico: identify says\n%swant\n%s", i, out, want)
		}
	}
}
