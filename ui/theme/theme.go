// Package theme is SITHS eID's Fyne theme: colours checked for contrast
// (text at least 4.5:1, borders 3:1, in light and dark), spacing and type
// from one place, light or dark as the OS says (Fyne passes the variant),
// and the organisation's accent colour when policy sets one. It needs no
// GL: it imports no fyne.io/fyne/v2/app.
package theme

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	fynetheme "fyne.io/fyne/v2/theme"

	"github.com/sithseid/sithseid/internal/contrast"
)

// Palette is the colours of one variant by Fyne colour name. Names not
// listed fall back to Fyne's default theme.
type Palette map[fyne.ThemeColorName]color.NRGBA

func rgb(hex uint32) color.NRGBA {
	return color.NRGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// Light and Dark are the palettes (UX-GUIDE §2; Fyne's light defaults give
// 3.7:1 for error, 2.2:1 warning, 1.5:1 success, 4.47:1 white on primary,
// and 1.26:1 for a disabled button's text).
var (
	Light = Palette{
		fynetheme.ColorNameBackground:          rgb(0xFFFFFF),
		fynetheme.ColorNameForeground:          rgb(0x1C1C1E),
		fynetheme.ColorNameInputBackground:     rgb(0xF3F3F3),
		fynetheme.ColorNameMenuBackground:      rgb(0xF5F5F5),
		fynetheme.ColorNameOverlayBackground:   rgb(0xFFFFFF),
		fynetheme.ColorNameHeaderBackground:    rgb(0xF0F0F0),
		fynetheme.ColorNameButton:              rgb(0xE8E8E8),
		fynetheme.ColorNameDisabledButton:      rgb(0xE5E5E5),
		fynetheme.ColorNameDisabled:            rgb(0x666666),
		fynetheme.ColorNamePlaceHolder:         rgb(0x666666),
		fynetheme.ColorNameInputBorder:         rgb(0x767676),
		fynetheme.ColorNamePrimary:             rgb(0x1F5FBF),
		fynetheme.ColorNameHyperlink:           rgb(0x1F5FBF),
		fynetheme.ColorNameError:               rgb(0xB3261E),
		fynetheme.ColorNameWarning:             rgb(0x8A5300),
		fynetheme.ColorNameSuccess:             rgb(0x1B7A2E),
		fynetheme.ColorNameForegroundOnPrimary: rgb(0xFFFFFF),
		fynetheme.ColorNameForegroundOnError:   rgb(0xFFFFFF),
		fynetheme.ColorNameForegroundOnWarning: rgb(0xFFFFFF),
		fynetheme.ColorNameForegroundOnSuccess: rgb(0xFFFFFF),
	}
	Dark = Palette{
		fynetheme.ColorNameBackground:          rgb(0x171718),
		fynetheme.ColorNameForeground:          rgb(0xF3F3F3),
		fynetheme.ColorNameInputBackground:     rgb(0x202023),
		fynetheme.ColorNameMenuBackground:      rgb(0x1E1E20),
		fynetheme.ColorNameOverlayBackground:   rgb(0x1E1E20),
		fynetheme.ColorNameHeaderBackground:    rgb(0x222224),
		fynetheme.ColorNameButton:              rgb(0x2E2E30),
		fynetheme.ColorNameDisabledButton:      rgb(0x2A2A2C),
		fynetheme.ColorNameDisabled:            rgb(0x9A9A9A),
		fynetheme.ColorNamePlaceHolder:         rgb(0x9A9A9A),
		fynetheme.ColorNameInputBorder:         rgb(0x808080),
		fynetheme.ColorNamePrimary:             rgb(0x6EA8FF),
		fynetheme.ColorNameHyperlink:           rgb(0x6EA8FF),
		fynetheme.ColorNameError:               rgb(0xFF8A80),
		fynetheme.ColorNameWarning:             rgb(0xFFB74D),
		fynetheme.ColorNameSuccess:             rgb(0x81C784),
		fynetheme.ColorNameForegroundOnPrimary: rgb(0x171718),
		fynetheme.ColorNameForegroundOnError:   rgb(0x171718),
		fynetheme.ColorNameForegroundOnWarning: rgb(0x171718),
		fynetheme.ColorNameForegroundOnSuccess: rgb(0x171718),
	}
)

// Pair is a foreground drawn on a background, with the contrast it needs.
type Pair struct {
	Fg, Bg fyne.ThemeColorName
	Min    float64
}

// Pairs lists every foreground/background pair the windows draw: text
// needs 4.5:1, input borders 3:1 (WCAG 2.1, 1.4.3 and 1.4.11).
var Pairs = []Pair{
	{fynetheme.ColorNameForeground, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNameForeground, fynetheme.ColorNameInputBackground, 4.5},
	{fynetheme.ColorNameForeground, fynetheme.ColorNameMenuBackground, 4.5},
	{fynetheme.ColorNameForeground, fynetheme.ColorNameOverlayBackground, 4.5},
	{fynetheme.ColorNameForeground, fynetheme.ColorNameHeaderBackground, 4.5},
	{fynetheme.ColorNameForeground, fynetheme.ColorNameButton, 4.5},
	{fynetheme.ColorNameDisabled, fynetheme.ColorNameDisabledButton, 4.5},
	{fynetheme.ColorNameDisabled, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNameDisabled, fynetheme.ColorNameInputBackground, 4.5},
	{fynetheme.ColorNamePlaceHolder, fynetheme.ColorNameInputBackground, 4.5},
	{fynetheme.ColorNameError, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNameWarning, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNameSuccess, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNamePrimary, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNameHyperlink, fynetheme.ColorNameBackground, 4.5},
	{fynetheme.ColorNameForegroundOnPrimary, fynetheme.ColorNamePrimary, 4.5},
	{fynetheme.ColorNameForegroundOnError, fynetheme.ColorNameError, 4.5},
	{fynetheme.ColorNameForegroundOnWarning, fynetheme.ColorNameWarning, 4.5},
	{fynetheme.ColorNameForegroundOnSuccess, fynetheme.ColorNameSuccess, 4.5},
	{fynetheme.ColorNameInputBorder, fynetheme.ColorNameBackground, 3},
	{fynetheme.ColorNameInputBorder, fynetheme.ColorNameInputBackground, 3},
}

// Sizes is the type and spacing of every window, in one place: body text
// 14, the state sentence 18 (SubHeadingText), nothing essential in the
// 11-unit caption.
var Sizes = map[fyne.ThemeSizeName]float32{
	fynetheme.SizeNameText:           14,
	fynetheme.SizeNameSubHeadingText: 18,
	fynetheme.SizeNameHeadingText:    22,
	fynetheme.SizeNameCaptionText:    11,
	fynetheme.SizeNamePadding:        4,
	fynetheme.SizeNameInnerPadding:   8,
	fynetheme.SizeNameLineSpacing:    4,
}

// Theme is the app's fyne.Theme. The zero value is the plain theme; an
// accent (policy accentColour, checked with CheckAccent) replaces Primary.
type Theme struct {
	accent   *color.NRGBA
	onAccent [2]color.NRGBA // per variant: light, dark
}

var _ fyne.Theme = (*Theme)(nil)

// New returns the theme, with the organisation's accent when accent is
// non-empty and passes CheckAccent (else the error says why).
func New(accent string) (*Theme, error) {
	t := &Theme{}
	if accent == "" {
		return t, nil
	}
	c, err := CheckAccent(accent)
	if err != nil {
		return t, err
	}
	t.accent = &c
	t.onAccent = [2]color.NRGBA{onColour(c), onColour(c)}
	return t, nil
}

func variantIndex(v fyne.ThemeVariant) int {
	if v == fynetheme.VariantLight {
		return 0
	}
	return 1
}

// PaletteFor returns the palette of variant v.
func PaletteFor(v fyne.ThemeVariant) Palette {
	if v == fynetheme.VariantLight {
		return Light
	}
	return Dark
}

// Color returns the colour of name in variant v.
func (t *Theme) Color(name fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if t != nil && t.accent != nil {
		switch name {
		case fynetheme.ColorNamePrimary:
			return *t.accent
		case fynetheme.ColorNameForegroundOnPrimary:
			return t.onAccent[variantIndex(v)]
		case fynetheme.ColorNameFocus:
			a := *t.accent
			a.A = 0x66
			return a
		case fynetheme.ColorNameSelection:
			a := *t.accent
			a.A = 0x40
			return a
		}
	}
	if c, ok := PaletteFor(v)[name]; ok {
		return c
	}
	switch name {
	case fynetheme.ColorNameFocus:
		c := PaletteFor(v)[fynetheme.ColorNamePrimary]
		c.A = 0x66
		return c
	case fynetheme.ColorNameSelection:
		c := PaletteFor(v)[fynetheme.ColorNamePrimary]
		c.A = 0x40
		return c
	}
	return fynetheme.DefaultTheme().Color(name, v)
}

// Font returns Fyne's default font.
func (t *Theme) Font(s fyne.TextStyle) fyne.Resource { return fynetheme.DefaultTheme().Font(s) }

// Icon returns Fyne's default icon.
func (t *Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return fynetheme.DefaultTheme().Icon(n) }

// Size returns the size of name from Sizes, else Fyne's default.
func (t *Theme) Size(n fyne.ThemeSizeName) float32 {
	if s, ok := Sizes[n]; ok {
		return s
	}
	return fynetheme.DefaultTheme().Size(n)
}

// Luminance is the WCAG 2.1 relative luminance of c.
func Luminance(c color.Color) float64 { return contrast.Luminance(c) }

// Contrast is the WCAG 2.1 contrast ratio of a and b (1 to 21).
func Contrast(a, b color.Color) float64 { return contrast.Ratio(a, b) }

func onColour(c color.NRGBA) color.NRGBA { return contrast.OnColour(c) }

// CheckAccent parses policy's accent colour "#RRGGBB" and checks its
// contrast in both variants (contrast.CheckAccent).
func CheckAccent(s string) (color.NRGBA, error) {
	c, err := contrast.CheckAccent(s)
	if err != nil {
		return c, fmt.Errorf("accent colour %s: %w", s, err)
	}
	return c, nil
}

// Hex formats c as "#RRGGBB".
func Hex(c color.NRGBA) string { return contrast.Hex(c) }
