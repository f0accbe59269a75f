// Package trayicon draws the tray icon of every agent state from the
// product icon (assets/icons/sithseid.png): the card, full colour or faded,
// with a badge in its lower right corner. The generator
// (ui/tray/gen_icons.go, "go generate ./ui/tray") writes the results into
// ui/tray/icons as PNG (Linux, macOS) and ICO (Windows); a test in ui/tray
// checks that the committed files are what this package draws.
//
// It is a build-time tool: the agent embeds the files, not this code.
package trayicon

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"

	"golang.org/x/image/draw"
)

// Size is the edge of the PNG icons in pixels. Tray hosts scale it down
// (a panel is 22–32 px high; a HiDPI one twice that).
const Size = 64

// ICOSizes are the images in each ICO file: the notification area uses
// 16 px at 100 % scaling, 24 at 150 %, 32 at 200 %, 48 in some shells.
var ICOSizes = []int{16, 24, 32, 48}

// Glyph is what a badge shows.
type Glyph int

const (
	GlyphNone Glyph = iota
	GlyphCheck
	GlyphDots
	GlyphExclamation
	GlyphLock
	GlyphCross
	// GlyphBar is a "no entry" bar: the service is not running (its own
	// shape, so that it differs from "no reader" without colour).
	GlyphBar
)

// Variant is one state's look.
type Variant struct {
	Name  string // file name without extension, the tray's icon name
	Faded bool   // the card greyed out: nothing usable is there
	Badge color.NRGBA
	Glyph Glyph
}

// Variants are the states' icons; ui/tray names them the same way.
var Variants = []Variant{
	{Name: "ready", Badge: rgb(0x2e, 0x7d, 0x32), Glyph: GlyphCheck},
	{Name: "busy", Badge: rgb(0x15, 0x65, 0xc0), Glyph: GlyphDots},
	{Name: "expiring", Badge: rgb(0xe0, 0x82, 0x00), Glyph: GlyphExclamation},
	{Name: "pinblocked", Badge: rgb(0xc6, 0x28, 0x28), Glyph: GlyphLock},
	{Name: "nocard", Faded: true},
	{Name: "noreader", Faded: true, Badge: rgb(0x61, 0x61, 0x61), Glyph: GlyphCross},
	{Name: "servicedown", Faded: true, Badge: rgb(0xc6, 0x28, 0x28), Glyph: GlyphBar},
}

func rgb(r, g, b uint8) color.NRGBA { return color.NRGBA{r, g, b, 0xff} }

// Draw renders v at size×size from the product icon base.
func Draw(base image.Image, v Variant, size int) *image.NRGBA {
	// The product icon has a wide transparent margin: crop to the card's
	// square so the card fills the tray's slot.
	b := base.Bounds()
	m := b.Dx() * 32 / 512
	src := image.Rect(b.Min.X+m, b.Min.Y+m, b.Max.X-m, b.Max.Y-m)
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), base, src, draw.Src, nil)
	if v.Faded {
		for i := 0; i < len(dst.Pix); i += 4 {
			p := dst.Pix[i : i+4 : i+4]
			y := (299*int(p[0]) + 587*int(p[1]) + 114*int(p[2])) / 1000
			y = 0x60 + y*0x80/0xff // grey, lighter: nothing to use here
			p[0], p[1], p[2] = uint8(y), uint8(y), uint8(y)
			p[3] = uint8(int(p[3]) * 0xa0 / 0xff)
		}
	}
	if v.Glyph != GlyphNone {
		drawBadge(dst, v, float64(size)/64)
	}
	return dst
}

// shape reports whether a point (in the 64-unit badge space, the badge
// centre at the origin) is inside.
type shape func(x, y float64) bool

func circle(cx, cy, r float64) shape {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r }
}

// stroke is a segment w wide with round ends.
func stroke(x0, y0, x1, y1, w float64) shape {
	return func(x, y float64) bool {
		dx, dy := x1-x0, y1-y0
		t := ((x-x0)*dx + (y-y0)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		px, py := x0+t*dx-x, y0+t*dy-y
		return px*px+py*py <= w*w/4
	}
}

func rect(x0, y0, x1, y1 float64) shape {
	return func(x, y float64) bool { return x >= x0 && x <= x1 && y >= y0 && y <= y1 }
}

func union(s ...shape) shape {
	return func(x, y float64) bool {
		for _, f := range s {
			if f(x, y) {
				return true
			}
		}
		return false
	}
}

func glyph(g Glyph) shape {
	switch g {
	case GlyphCheck:
		return union(stroke(-7, 0.5, -2.5, 5, 4), stroke(-2.5, 5, 7, -5, 4))
	case GlyphDots:
		return union(circle(-6.5, 0, 2.6), circle(0, 0, 2.6), circle(6.5, 0, 2.6))
	case GlyphExclamation:
		return union(stroke(0, -8, 0, 2.5, 4.2), circle(0, 7.5, 2.4))
	case GlyphLock:
		ring := func(x, y float64) bool {
			d := math.Hypot(x, y+1.5)
			return y <= -1.5 && d <= 6 && d >= 3
		}
		legs := union(rect(-6, -1.5, -3, 1), rect(3, -1.5, 6, 1))
		return union(ring, legs, rect(-7.5, 0, 7.5, 9))
	case GlyphCross:
		return union(stroke(-5.5, -5.5, 5.5, 5.5, 4), stroke(-5.5, 5.5, 5.5, -5.5, 4))
	case GlyphBar:
		return rect(-8.5, -2.5, 8.5, 2.5)
	}
	return func(float64, float64) bool { return false }
}

// drawBadge paints a disc with a white rim and the glyph, anti-aliased by
// 4×4 supersampling, in the lower right corner.
func drawBadge(img *image.NRGBA, v Variant, scale float64) {
	const cx, cy, r, rim = 46.0, 44.0, 15.0, 2.5
	disc := circle(0, 0, r)
	outer := circle(0, 0, r+rim)
	mark := glyph(v.Glyph)
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	const n = 4
	bounds := img.Bounds()
	for py := bounds.Min.Y; py < bounds.Max.Y; py++ {
		for px := bounds.Min.X; px < bounds.Max.X; px++ {
			var cov [3]int // rim, disc, glyph samples
			for sy := 0; sy < n; sy++ {
				for sx := 0; sx < n; sx++ {
					x := (float64(px)+(float64(sx)+0.5)/n)/scale - cx
					y := (float64(py)+(float64(sy)+0.5)/n)/scale - cy
					switch {
					case mark(x, y) && disc(x, y):
						cov[2]++
					case disc(x, y):
						cov[1]++
					case outer(x, y):
						cov[0]++
					}
				}
			}
			i := img.PixOffset(px, py)
			for k, c := range []color.NRGBA{white, v.Badge, white} {
				if cov[k] > 0 {
					over(img.Pix[i:i+4:i+4], c, float64(cov[k])/(n*n))
				}
			}
		}
	}
}

// over composites colour c with coverage a onto an NRGBA pixel.
func over(p []uint8, c color.NRGBA, a float64) {
	da := float64(p[3]) / 255
	oa := a + da*(1-a)
	if oa == 0 {
		return
	}
	for k, sc := range []uint8{c.R, c.G, c.B} {
		v := (float64(sc)*a + float64(p[k])*da*(1-a)) / oa
		p[k] = uint8(math.Round(v))
	}
	p[3] = uint8(math.Round(oa * 255))
}

// PNG encodes img.
func PNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ICO encodes one image per size as an uncompressed 32-bit DIB (BGRA and
// an AND mask), the form every Windows version's LoadImage reads
// (https://learn.microsoft.com/en-us/previous-versions/ms997538(v=msdn.10)).
func ICO(base image.Image, v Variant, sizes []int) []byte {
	var dir, data bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 6)
	le.PutUint16(hdr[2:], 1) // type: icon
	le.PutUint16(hdr[4:], uint16(len(sizes)))
	offset := 6 + 16*len(sizes)
	for _, s := range sizes {
		img := Draw(base, v, s)
		dib := dib(img)
		e := make([]byte, 16)
		e[0], e[1] = byte(s%256), byte(s%256) // 0 means 256
		le.PutUint16(e[4:], 1)                // planes
		le.PutUint16(e[6:], 32)               // bits per pixel
		le.PutUint32(e[8:], uint32(len(dib)))
		le.PutUint32(e[12:], uint32(offset+data.Len()))
		dir.Write(e)
		data.Write(dib)
	}
	return append(append(hdr, dir.Bytes()...), data.Bytes()...)
}

func dib(img *image.NRGBA) []byte {
	le := binary.LittleEndian
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	maskRow := ((w + 31) / 32) * 4
	out := make([]byte, 40, 40+w*h*4+maskRow*h)
	le.PutUint32(out[0:], 40)
	le.PutUint32(out[4:], uint32(w))
	le.PutUint32(out[8:], uint32(2*h)) // XOR and AND bitmaps
	le.PutUint16(out[12:], 1)
	le.PutUint16(out[14:], 32)
	le.PutUint32(out[20:], uint32(w*h*4+maskRow*h))
	for y := h - 1; y >= 0; y-- { // bottom-up
		for x := 0; x < w; x++ {
			p := img.Pix[img.PixOffset(x, y):]
			out = append(out, p[2], p[1], p[0], p[3])
		}
	}
	for y := h - 1; y >= 0; y-- {
		row := make([]byte, maskRow)
		for x := 0; x < w; x++ {
			if img.Pix[img.PixOffset(x, y)+3] == 0 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		out = append(out, row...)
	}
	return out
}

// DecodeICO reads back the images of an ICO file ICO wrote (tests).
func DecodeICO(b []byte) ([]*image.NRGBA, error) {
	le := binary.LittleEndian
	if len(b) < 6 || le.Uint16(b[2:]) != 1 {
		return nil, errBadICO
	}
	n := int(le.Uint16(b[4:]))
	var out []*image.NRGBA
	for i := 0; i < n; i++ {
		e := b[6+16*i:]
		if len(e) < 16 {
			return nil, errBadICO
		}
		size, off := int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
		if off+size > len(b) || size < 40 {
			return nil, errBadICO
		}
		d := b[off : off+size]
		w, h := int(int32(le.Uint32(d[4:]))), int(int32(le.Uint32(d[8:])))/2
		if le.Uint16(d[14:]) != 32 || 40+w*h*4 > len(d) {
			return nil, errBadICO
		}
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		px := d[40:]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				s := px[((h-1-y)*w+x)*4:]
				q := img.Pix[img.PixOffset(x, y):]
				q[0], q[1], q[2], q[3] = s[2], s[1], s[0], s[3]
			}
		}
		out = append(out, img)
	}
	return out, nil
}

type icoError string

func (e icoError) Error() string { return string(e) }

const errBadICO = icoError("trayicon: not an ICO file of 32-bit images")
