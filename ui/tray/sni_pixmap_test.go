package tray

import (
	"image/color"
	"testing"
)

// Every straight 8-bit value at every opacity survives the low-byte
// conversion: the low byte of the premultiplied value RGBA() returns is
// the value, and its high byte the premultiplied one within 1.
func TestSNIChannelExact(t *testing.T) {
	for a := 1; a < 256; a++ {
		for v := 0; v < 256; v++ {
			s := sniChannel(uint8(v), uint32(a)*0x101)
			r, _, _, al := color.NRGBA64{R: s, A: uint16(a * 0x101)}.RGBA()
			if byte(r) != byte(v) || byte(al) != byte(a) {
				t.Fatalf("v=%d a=%d: low bytes %d/%d", v, a, byte(r), byte(al))
			}
			if d := int(r>>8) - v*a/255; d < -1 || d > 1 {
				t.Fatalf("v=%d a=%d: high byte %d, premultiplied %d", v, a, r>>8, v*a/255)
			}
		}
	}
}
