package theme

import (
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	fynetheme "fyne.io/fyne/v2/theme"

	"github.com/sithseid/sithseid/internal/contrast"
)

var variants = []struct {
	name string
	v    fyne.ThemeVariant
}{{"light", fynetheme.VariantLight}, {"dark", fynetheme.VariantDark}}

// Every text/background pair the windows draw has its contrast, computed
// from the theme's own colours, in both variants.
func TestEveryPairHasContrast(t *testing.T) {
	th, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		for _, p := range Pairs {
			r := Contrast(th.Color(p.Fg, v.v), th.Color(p.Bg, v.v))
			if r < p.Min {
				t.Errorf("%s: %s on %s is %.2f:1, needs %.1f:1", v.name, p.Fg, p.Bg, r, p.Min)
			}
		}
	}
}

// The pairs cover every colour the palettes define as text, so a colour
// added later is checked too.
func TestPairsCoverPalette(t *testing.T) {
	used := map[fyne.ThemeColorName]bool{}
	for _, p := range Pairs {
		used[p.Fg], used[p.Bg] = true, true
	}
	for _, pal := range []Palette{Light, Dark} {
		for name := range pal {
			if !used[name] {
				t.Errorf("colour %s is in a palette but in no checked pair", name)
			}
		}
	}
}

// The check itself: Fyne's light defaults fail it (the reason for this
// theme), with the ratios the issue measured.
func TestFyneLightDefaultsFail(t *testing.T) {
	test.NewTempApp(t)
	d := fynetheme.DefaultTheme()
	bg := d.Color(fynetheme.ColorNameBackground, fynetheme.VariantLight)
	for _, n := range []fyne.ThemeColorName{fynetheme.ColorNameError, fynetheme.ColorNameWarning, fynetheme.ColorNameSuccess} {
		if r := Contrast(d.Color(n, fynetheme.VariantLight), bg); r >= 4.5 {
			t.Errorf("Fyne's light %s is %.2f:1 — the check would not catch it", n, r)
		}
	}
	dis := Contrast(d.Color(fynetheme.ColorNameDisabled, fynetheme.VariantLight), d.Color(fynetheme.ColorNameDisabledButton, fynetheme.VariantLight))
	if dis >= 4.5 {
		t.Errorf("Fyne's disabled button text is %.2f:1", dis)
	}
	t.Logf("Fyne light: disabled button text %.2f:1", dis)
}

func TestContrastKnownValues(t *testing.T) {
	if r := Contrast(rgb(0xFFFFFF), rgb(0x000000)); r < 20.99 || r > 21.01 {
		t.Errorf("white/black = %.3f", r)
	}
	if r := Contrast(rgb(0x767676), rgb(0xFFFFFF)); r < 4.5 || r > 4.6 {
		t.Errorf("#767676/white = %.3f, want 4.54", r)
	}
}

func TestAccent(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"#2A6F97", true},  // a mid blue: 3:1 on both backgrounds
		{"#FFFF00", false}, // yellow: invisible on white
		{"#000080", false}, // navy: invisible on dark
		{"#12345", false},
		{"red", false},
	} {
		th, err := New(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			if th.Color(fynetheme.ColorNamePrimary, fynetheme.VariantLight) != Light[fynetheme.ColorNamePrimary] {
				t.Errorf("refused accent %q still used", tc.in)
			}
			continue
		}
		for _, v := range variants {
			p := th.Color(fynetheme.ColorNamePrimary, v.v)
			if Hex(p.(color.NRGBA)) != tc.in {
				t.Errorf("%s primary = %v, want %s", v.name, p, tc.in)
			}
			if r := Contrast(th.Color(fynetheme.ColorNameForegroundOnPrimary, v.v), p); r < 4.5 {
				t.Errorf("%s: text on accent %.2f:1", v.name, r)
			}
		}
	}
}

// The contrast package's backgrounds (used by config to check policy's
// accent) are the palettes' own.
func TestBackgroundsAgree(t *testing.T) {
	if Light[fynetheme.ColorNameBackground] != contrast.LightBackground || Dark[fynetheme.ColorNameBackground] != contrast.DarkBackground {
		t.Error("contrast's backgrounds differ from the palettes'")
	}
}
