package idprime

import (
	"bytes"
	"testing"
)

// The parsers take whatever a card returns. Seeds live in
// testdata/fuzz/<Target>; `go test` runs them, `go test -fuzz` explores.

// FuzzIndex: the 0101 index. No panic; an accepted index has as many
// entries as its first byte says, each inside the input; the certificate
// files picked from it have a container number of two digits.
func FuzzIndex(f *testing.F) {
	f.Add([]byte{0})
	f.Add(indexFile(indexRecord(0x0201, 16, "cardid", "", 3), indexRecord(0x0206, 900, "kxc00", "mscp", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := parseIndex(b)
		if err != nil {
			return
		}
		if len(entries) != int(b[0]) || 1+len(entries)*indexRecordLen > len(b) {
			t.Fatalf("%d entries from %d bytes", len(entries), len(b))
		}
		for _, e := range entries {
			if len(e.Name) > 8 || len(e.Dir) > 8 || e.Size > 0xFFFF {
				t.Fatalf("entry %+v", e)
			}
		}
		for _, c := range certFiles(entries) {
			if c.Container < 0 || c.Container > 99 || c.Dir != dirMSCP {
				t.Fatalf("certificate file %+v", c)
			}
		}
	})
}

// FuzzCMap: the cmapfile. No panic; one container per whole record.
func FuzzCMap(f *testing.F) {
	f.Add(cmapRecord("SITHS", 3))
	f.Add(bytes.Repeat([]byte{0xFF}, cmapRecordLen+3))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs := parseCMap(b)
		if len(cs) != len(b)/cmapRecordLen {
			t.Fatalf("%d containers from %d bytes", len(cs), len(b))
		}
		for i, c := range cs {
			if c.Valid != (b[i*cmapRecordLen] != 0) || len(c.GUID) > 40 {
				t.Fatalf("container %d: %+v", i, c)
			}
		}
	})
}

// FuzzKeyRefs: the 940's 0005 file. No panic; only records with byte 0 set,
// each naming PIN 0x11 or 0x83.
func FuzzKeyRefs(f *testing.F) {
	f.Add([]byte{1, 0x56, 0, 0, 0, 0, 0, 1, 1, 0x57, 1, 0, 0, 0, 0, 2})
	f.Add([]byte{0, 0x56, 0, 0, 0, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		refs := parseKeyRefs(b)
		if len(refs) > len(b)/keyRefRecordLen {
			t.Fatalf("%d references from %d bytes", len(refs), len(b))
		}
		for _, r := range refs {
			if r.PINRef != refPIN && r.PINRef != refSignaturePIN {
				t.Fatalf("reference %+v", r)
			}
		}
	})
}

// FuzzCertificate: a certificate file, raw or compressed, as Certificates
// reads it. No panic and no unbounded inflation: what comes out is never
// more than maxCertificateSize, and a compressed file's DER is exactly its
// declared length.
func FuzzCertificate(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add(compressed([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, 5))
	f.Add(compressed(make([]byte, 1<<20), 0xFFFF)) // a bomb declaring 64 KiB
	f.Fuzz(func(t *testing.T, b []byte) {
		der, err := certificateDER(b)
		if err != nil {
			return
		}
		if b[0] == 0x01 {
			if want := int(b[2]) | int(b[3])<<8; len(der) != want || len(der) > maxCertificateSize {
				t.Fatalf("%d bytes inflated, %d declared", len(der), want)
			}
		} else if !bytes.Equal(der, b) {
			t.Fatal("raw DER changed")
		}
		if c, err := parseCertificate(b); err == nil && c == nil {
			t.Fatal("no certificate and no error")
		}
	})
}
