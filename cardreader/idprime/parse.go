package idprime

import (
	"bytes"
	"compress/zlib"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The parsers of the applet's files. They take bytes a card returned and
// never trust them: every length is checked against the input, and a
// compressed certificate cannot inflate past maxCertificateSize.

// indexRecordLen is the size of one record of the 0101 index file: FID (2),
// size (2, big-endian), name (8, NUL-padded), directory (8, NUL-padded),
// flags (1) (FIELD-NOTES "IDPrime 940"; OpenSC card-idprime.c
// idprime_process_index).
const indexRecordLen = 21

// indexEntry is one file the index lists.
type indexEntry struct {
	FID   uint16
	Size  int // as the index says; the file's FCI is authoritative
	Name  string
	Dir   string
	Flags byte
}

// parseIndex reads the 0101 index: byte 0 = N, then N records. Bytes past
// the last record are ignored (the file may be larger than its content).
func parseIndex(b []byte) ([]indexEntry, error) {
	if len(b) < 1 {
		return nil, errors.New("index file: empty")
	}
	n := int(b[0])
	if len(b) < 1+n*indexRecordLen {
		return nil, fmt.Errorf("index file: %d records need %d bytes, have %d", n, 1+n*indexRecordLen, len(b))
	}
	out := make([]indexEntry, 0, n)
	for i := range n {
		r := b[1+i*indexRecordLen : 1+(i+1)*indexRecordLen]
		out = append(out, indexEntry{
			FID:   binary.BigEndian.Uint16(r[0:2]),
			Size:  int(binary.BigEndian.Uint16(r[2:4])),
			Name:  cString(r[4:12]),
			Dir:   cString(r[12:20]),
			Flags: r[20],
		})
	}
	return out, nil
}

// cString is b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// certFile is a certificate file of the minidriver layout: "kxcNN" (the
// key-exchange key of container NN) or "kscNN" (its signature key), in
// directory "mscp".
type certFile struct {
	indexEntry
	Container int
}

// certFiles picks the certificate files out of the index, in index order.
// OpenSC matches the prefix and the directory and reads the container from
// the two digits; a name without two digits is not a container's.
func certFiles(entries []indexEntry) []certFile {
	var out []certFile
	for _, e := range entries {
		if c, ok := containerOf(e.Name); ok && e.Dir == dirMSCP {
			out = append(out, certFile{indexEntry: e, Container: c})
		}
	}
	return out
}

// containerOf parses "kxcNN" or "kscNN".
func containerOf(name string) (int, bool) {
	if len(name) != 5 || (name[:3] != "kxc" && name[:3] != "ksc") {
		return 0, false
	}
	d1, d2 := name[3], name[4]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return 0, false
	}
	return int(d1-'0')*10 + int(d2-'0'), true
}

// findFile returns the index entry named name in dir.
func findFile(entries []indexEntry, name, dir string) (indexEntry, bool) {
	for _, e := range entries {
		if e.Name == name && e.Dir == dir {
			return e, true
		}
	}
	return indexEntry{}, false
}

// cmapRecordLen is the size of one cmapfile record: the Windows smart card
// minidriver's CONTAINER_MAP_RECORD (GUID as 40 UTF-16LE characters, flags,
// reserved, signature and key-exchange key sizes in bits).
const cmapRecordLen = 86

// container is one cmapfile record. Record n is container n.
type container struct {
	Valid bool   // byte 0 != 0, as OpenSC reads it (a non-empty GUID)
	GUID  string // the container name, ASCII part of the UTF-16LE GUID
}

// parseCMap reads cmapfile. A trailing partial record is ignored.
func parseCMap(b []byte) []container {
	var out []container
	for off := 0; off+cmapRecordLen <= len(b); off += cmapRecordLen {
		r := b[off : off+cmapRecordLen]
		var name []byte
		for j := 0; j < 80; j += 2 {
			if r[j] == 0 {
				break
			}
			name = append(name, r[j])
		}
		out = append(out, container{Valid: r[0] != 0, GUID: string(name)})
	}
	return out
}

// keyRefRecordLen is the size of one record of the 940's 0005 file.
const keyRefRecordLen = 8

// keyRef is one valid 0005 record: the key of container Container is key
// reference Ref, guarded by PIN PINRef.
type keyRef struct {
	Ref       byte
	Container int
	PINRef    byte
}

// parseKeyRefs reads the 0005 file: 8-byte records, [0] != 0 valid, [1] key
// reference, [2] container (certificate) index, [7] PIN index: 1 is the
// identification PIN (0x11), any other the signature PIN (0x83), as OpenSC
// maps it. OpenSC 0.24 read the PIN index from byte 0 instead; a record
// whose byte 7 is zero falls back to that. A trailing partial record is
// ignored.
func parseKeyRefs(b []byte) []keyRef {
	var out []keyRef
	for off := 0; off+keyRefRecordLen <= len(b); off += keyRefRecordLen {
		r := b[off : off+keyRefRecordLen]
		if r[0] == 0 {
			continue
		}
		pinIndex := r[7]
		if pinIndex == 0 {
			pinIndex = r[0]
		}
		pin := byte(refSignaturePIN)
		if pinIndex == 1 {
			pin = refPIN
		}
		out = append(out, keyRef{Ref: r[1], Container: int(r[2]), PINRef: pin})
	}
	return out
}

// maxCertificateSize bounds a certificate, stored or inflated. SITHS
// certificates are about 1.5 kB; a card declaring more is refused rather
// than trusted with memory.
const maxCertificateSize = 16 << 10

// certificateDER returns the DER of a certificate file: raw DER (a
// SEQUENCE, 30 ..), or the compressed form 01 00 <length LE16> <zlib>
// (FIELD-NOTES: OpenSC 0.23 reads only this form; 0.25, PR #2958, reads
// both). The inflated data must be exactly the declared length.
func certificateDER(b []byte) ([]byte, error) {
	switch {
	case len(b) >= 2 && b[0] == 0x30:
		return b, nil
	case len(b) >= 4 && b[0] == 0x01 && b[1] == 0x00:
	default:
		return nil, errors.New("certificate file: neither DER nor compressed")
	}
	n := int(binary.LittleEndian.Uint16(b[2:4]))
	if n == 0 || n > maxCertificateSize {
		return nil, fmt.Errorf("compressed certificate: declared length %d", n)
	}
	zr, err := zlib.NewReader(bytes.NewReader(b[4:]))
	if err != nil {
		return nil, fmt.Errorf("compressed certificate: %w", err)
	}
	der := make([]byte, n)
	if _, err := io.ReadFull(zr, der); err != nil {
		return nil, fmt.Errorf("compressed certificate: %d bytes declared: %w", n, err)
	}
	// The stream must end where it said; read one byte more to check.
	var extra [1]byte
	if k, _ := zr.Read(extra[:]); k != 0 {
		return nil, errors.New("compressed certificate: longer than declared")
	}
	return der, nil
}

// parseCertificate returns the certificate in a certificate file.
func parseCertificate(b []byte) (*x509.Certificate, error) {
	der, err := certificateDER(b)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// fciSize reads a file's size from the FCI a SELECT returned: template 6F
// with the size in tag 80 (data bytes) or 81 (ISO/IEC 7816-4 section
// 5.3.3, Table 12). One- and two-byte BER lengths only; the FCI is short.
func fciSize(fci []byte) (int, bool) {
	v, _, ok := readTLV(fci)
	if !ok || v.tag != 0x6F {
		return 0, false
	}
	for rest := v.value; len(rest) > 0; {
		var t tlv
		if t, rest, ok = readTLV(rest); !ok {
			return 0, false
		}
		if (t.tag == 0x80 || t.tag == 0x81) && len(t.value) >= 1 && len(t.value) <= 4 {
			n := 0
			for _, x := range t.value {
				n = n<<8 | int(x)
			}
			return n, true
		}
	}
	return 0, false
}

type tlv struct {
	tag   byte
	value []byte
}

// readTLV reads one TLV with a one-byte tag and a length of one or two
// bytes (81 xx, 82 xx xx).
func readTLV(b []byte) (tlv, []byte, bool) {
	if len(b) < 2 {
		return tlv{}, nil, false
	}
	tag, l, i := b[0], int(b[1]), 2
	switch {
	case l == 0x81:
		if len(b) < 3 {
			return tlv{}, nil, false
		}
		l, i = int(b[2]), 3
	case l == 0x82:
		if len(b) < 4 {
			return tlv{}, nil, false
		}
		l, i = int(b[2])<<8|int(b[3]), 4
	case l > 0x80:
		return tlv{}, nil, false
	}
	if len(b)-i < l {
		return tlv{}, nil, false
	}
	return tlv{tag: tag, value: b[i : i+l]}, b[i+l:], true
}
