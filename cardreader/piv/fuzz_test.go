package piv

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// FuzzReadTLV: the BER-TLV reader under every card response (GET DATA,
// GET METADATA, key history, CHUID, GENERAL AUTHENTICATE). No panic; an
// accepted TLV's value and the rest lie inside the input, in order, and
// the tag's and length's encodings account for the bytes before them.
func FuzzReadTLV(f *testing.F) {
	for _, s := range [][]byte{
		{0x53, 0x03, 0x01, 0x02, 0x03},
		{0x5F, 0xC1, 0x05, 0x01, 0xAA},
		{0x7C, 0x82, 0x01, 0x04},
		{0x53, 0x81, 0x80},
		{0x7F, 0xFF, 0xFF, 0x01, 0x00},
		{0x53, 0x83, 0x00, 0x00, 0x01, 0x00},
		{0x1F},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, rest, ok := readTLV(b)
		if !ok {
			return
		}
		head := len(b) - len(v.value) - len(rest)
		if head < 2 || head > 3+3 {
			t.Fatalf("tag and length took %d bytes", head)
		}
		if !bytes.Equal(b[head:head+len(v.value)], v.value) || !bytes.Equal(b[head+len(v.value):], rest) {
			t.Fatal("value or rest is not where the input has it")
		}
		if v.tag > 0xFFFFFF {
			t.Fatalf("tag %X longer than three bytes", v.tag)
		}
		// Walk the value as a template, as the callers do.
		for r, n := v.value, 0; len(r) > 0 && n < len(v.value); n++ {
			var ok bool
			if _, r, ok = readTLV(r); !ok {
				break
			}
		}
		_, _ = dynamicAuthItem(b, 0x82, 256)
	})
}

// FuzzCertObject: a certificate object as GET DATA returns it (70 cert,
// 71 CertInfo, possibly gzip-compressed, FE), parsed as the backend does.
// No panic and no unbounded decompression: a gzip bomb ends at 64 KiB.
func FuzzCertObject(f *testing.F) {
	f.Add([]byte{0x70, 0x00, 0x71, 0x01, 0x00, 0xFE, 0x00})
	f.Add([]byte{0x70, 0x03, 0x30, 0x01, 0x00, 0x71, 0x01, 0x01})
	// gzip of 1 MiB of zeros behind a "compressed" CertInfo.
	bomb := gzipped(make([]byte, 1<<20))
	obj := append([]byte{0x70, 0x82, byte(len(bomb) >> 8), byte(len(bomb))}, bomb...)
	f.Add(append(obj, 0x71, 0x01, 0x01))
	f.Fuzz(func(t *testing.T, obj []byte) {
		c, err := parseCertObject(obj)
		if err == nil && c == nil {
			t.Fatal("no certificate and no error")
		}
	})
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}
