package tray

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"
)

// The StatusNotifierItem's IconPixmap is straight (not premultiplied)
// ARGB32, 8 bits a channel. fyne.io/systray (v1.12.2, the latest release)
// builds it from the PNG it is given by keeping the low byte of each value
// image.Image's At(x, y).RGBA() returns: 16-bit, premultiplied. For an
// 8-bit image that low byte is right only where a pixel is opaque or
// transparent; every partly transparent pixel (the faded states' whole
// card, every anti-aliased edge) came out with wrong colours.
//
// sniPNG is the project's own conversion path that the library cannot
// spoil: it re-encodes an icon as a 16-bit straight-alpha PNG (decoded as
// image.NRGBA64) whose values are chosen so that the low byte of each
// premultiplied value RGBA() returns is exactly the intended 8-bit
// straight value, and its high byte the intended premultiplied one (so a
// correct reader of the same PNG sees the same picture, within 1/256).

var sniCache sync.Map // Icon -> []byte

// sniIconData is icon i as handed to systray on Linux.
func sniIconData(i Icon) []byte {
	if b, ok := sniCache.Load(i); ok {
		return b.([]byte)
	}
	b, err := sniPNG(IconData(i))
	if err != nil {
		panic("tray: icon " + string(i) + ": " + err.Error()) // embedded; a test converts each
	}
	sniCache.Store(i, b)
	return b
}

// sniPNG re-encodes the PNG data as described above.
func sniPNG(data []byte) ([]byte, error) {
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	bnd := src.Bounds()
	dst := image.NewNRGBA64(bnd)
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			c := color.NRGBAModel.Convert(src.At(x, y)).(color.NRGBA)
			a := uint32(c.A) * 0x101
			dst.SetNRGBA64(x, y, color.NRGBA64{
				R: sniChannel(c.R, a), G: sniChannel(c.G, a), B: sniChannel(c.B, a), A: uint16(a),
			})
		}
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, dst); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// sniChannel is the 16-bit straight value s such that s*a/0xffff (what
// color.NRGBA64.RGBA computes) has v as its low byte and, as far as that
// allows, the premultiplied v*a/0xff as its high byte.
func sniChannel(v uint8, a uint32) uint16 {
	if a == 0 {
		return 0 // transparent: exported as 0,0,0,0 whatever the colour
	}
	want := uint32(v) * 0x101 * a / 0xffff // the premultiplied value
	// p: the value nearest want with low byte v, within [0, a].
	p, best := uint32(0), ^uint32(0)
	for _, c := range []int64{int64(want&^0xff) - 0x100, int64(want &^ 0xff), int64(want&^0xff) + 0x100} {
		q := c + int64(v)
		if q < 0 || q > int64(a) {
			continue
		}
		d := q - int64(want)
		if d < 0 {
			d = -d
		}
		if uint32(d) < best {
			p, best = uint32(q), uint32(d)
		}
	}
	// The smallest s with s*a/0xffff >= p; a <= 0xffff makes the steps
	// at most 1, so floor(s*a/0xffff) == p exactly.
	return uint16((p*0xffff + a - 1) / a)
}
