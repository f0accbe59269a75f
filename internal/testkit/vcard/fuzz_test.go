package vcard

import (
	"encoding/binary"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// FuzzTransmit feeds the card sequences of C-APDUs (each prefixed by a
// 2-byte length, like the vpcd wire format) and checks that it never
// panics and always answers a well-formed R-APDU. The card lives across
// inputs, so the fuzzer also reaches states (verified, authenticated,
// chaining, blocked) that single commands cannot.
func FuzzTransmit(f *testing.F) {
	c := newCard(f, testpki.RSA2048, "default")
	c.repanic = true
	seeds := [][]byte{
		h("00A4040005A000000308"),
		h("00FD000000"),
		h("00CB3FFF055C035FC105"),
		h("00200080083132333435 36FFFF"),
		h("0087079A 0C 7C0A82008106 000102030405"),
		h("10DB3FFF05 5C035FC110"),
		h("00C0000000"),
		h("00870A9B047C028000"),
		h("00CB3FFF00 0005 5C035FC105 0000"),
		h("00F7008000"),
	}
	for _, s := range seeds {
		f.Add(frame(s))
	}
	f.Add(append(frame(seeds[0]), frame(seeds[2])...))
	f.Fuzz(func(t *testing.T, in []byte) {
		transmitAll(t, c, in, 65536)
		if pin, puk := c.PINRetries(); pin < 0 || pin > 15 || puk < 0 || puk > 15 {
			t.Fatalf("counters %d %d", pin, puk)
		}
	})
}

// transmitAll sends the 2-byte length-prefixed C-APDUs in in to c, one
// after the other, and fails t on a malformed R-APDU: shorter than a status
// word, more than maxData bytes of data, an SW1 that is no ISO 7816-4
// status, or data with an error status.
func transmitAll(t *testing.T, c *Card, in []byte, maxData int) {
	t.Helper()
	for len(in) >= 2 {
		n := int(binary.BigEndian.Uint16(in))
		in = in[2:]
		if n > len(in) {
			n = len(in)
		}
		r := c.Transmit(in[:n])
		in = in[n:]
		if len(r) < 2 || len(r) > maxData+2 {
			t.Fatalf("R-APDU of %d bytes", len(r))
		}
		sw1 := r[len(r)-2]
		if sw1 != 0x90 && sw1 != 0x61 && (sw1 < 0x62 || sw1 > 0x6F) {
			t.Fatalf("SW1 %02X", sw1)
		}
		if sw1 != 0x90 && sw1 != 0x61 && len(r) != 2 {
			t.Fatalf("error status with data: %x", r)
		}
	}
}

func frame(apdu []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(apdu))), apdu...)
}

// FuzzTransmitIDPrime is FuzzTransmit for an IDPrime card with its signing
// key: sequences of C-APDUs (2-byte length prefixed) against one card, so
// the fuzzer reaches verified, MSE-set and hashed states; the card never
// panics, always answers a well-formed R-APDU and keeps its counters in
// range.
func FuzzTransmitIDPrime(f *testing.F) {
	c := newIDPrime(f, true)
	c.repanic = true
	seeds := [][]byte{
		h("00A4040C0BA000000018800000000662"),
		h("00CA9F7F2D"),
		h("00CADF3000"),
		h("00A40800020101"),
		h("00B0000000"),
		h("00A40000020206"),
		h("002000110" + "010313233343536000000000000000000"),
		h("002241B606800142840156"),
		h("002A90A022902000000000000000000000000000000000000000000000000000000000000000" + "20"),
		h("002A9E9A00"),
		h("00C0000000"),
		h("00200012"),
		h("002C001120" + "3132333435363738000000000000000031323334353600000000000000000000"),
	}
	for _, s := range seeds {
		f.Add(frame(s))
	}
	var sign []byte
	for _, s := range seeds[6:10] {
		sign = append(sign, frame(s)...)
	}
	f.Add(sign)
	f.Fuzz(func(t *testing.T, in []byte) {
		transmitAll(t, c, in, 256)
		pin, puk := c.PINRetries()
		sp, _ := c.SignPINRetries()
		if pin < 0 || pin > 3 || puk < 0 || puk > 3 || sp < 0 || sp > 3 {
			t.Fatalf("counters %d %d %d", pin, puk, sp)
		}
	})
}
