// Package contrast computes WCAG 2.1 contrast ratios and checks a policy
// accent colour against the windows' backgrounds. It imports no Fyne, so
// the configuration can check policy's accentColour when it loads.
package contrast

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
)

// The windows' backgrounds (ui/theme's palettes; a test keeps them equal).
var (
	LightBackground = color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	DarkBackground  = color.NRGBA{R: 0x17, G: 0x17, B: 0x18, A: 0xFF}
)

// Luminance is the WCAG 2.1 relative luminance of c (alpha ignored).
func Luminance(c color.Color) float64 {
	r, g, b, _ := color.NRGBAModel.Convert(c).RGBA()
	lin := func(v uint32) float64 {
		s := float64(v>>8) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// Ratio is the WCAG 2.1 contrast ratio of a and b (1 to 21).
func Ratio(a, b color.Color) float64 {
	la, lb := Luminance(a), Luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// OnColour is white or the dark background, whichever contrasts more with
// c: the text on a button filled with c.
func OnColour(c color.NRGBA) color.NRGBA {
	if Ratio(LightBackground, c) >= Ratio(DarkBackground, c) {
		return LightBackground
	}
	return DarkBackground
}

// CheckAccent parses an accent colour "#RRGGBB" and checks that it can
// fill the primary button and ring the focus in both variants: at least
// 3:1 against the light and the dark background (a component, WCAG
// 1.4.11) and 4.5:1 with the button's text (white or near-black).
func CheckAccent(s string) (color.NRGBA, error) {
	c, err := ParseHex(s)
	if err != nil {
		return c, err
	}
	for _, p := range []struct {
		name string
		bg   color.NRGBA
	}{{"light", LightBackground}, {"dark", DarkBackground}} {
		if r := Ratio(c, p.bg); r < 3 {
			return c, fmt.Errorf("contrast %.2f:1 against the %s background %s, needs 3:1", r, p.name, Hex(p.bg))
		}
	}
	if r := Ratio(c, OnColour(c)); r < 4.5 {
		return c, fmt.Errorf("contrast %.2f:1 with its button text, needs 4.5:1", r)
	}
	return c, nil
}

// ParseHex parses "#RRGGBB".
func ParseHex(s string) (color.NRGBA, error) {
	s = strings.TrimSpace(s)
	if len(s) != 7 || s[0] != '#' {
		return color.NRGBA{}, fmt.Errorf("%q is not #RRGGBB", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("%q is not #RRGGBB", s)
	}
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xFF}, nil
}

// Hex formats c as "#RRGGBB".
func Hex(c color.NRGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }
