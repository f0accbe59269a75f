package idprime

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// h decodes hex with spaces.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// indexRecord builds one 0101 record.
func indexRecord(fid uint16, size int, name, dir string, flags byte) []byte {
	r := make([]byte, indexRecordLen)
	binary.BigEndian.PutUint16(r[0:], fid)
	binary.BigEndian.PutUint16(r[2:], uint16(size))
	copy(r[4:12], name)
	copy(r[12:20], dir)
	r[20] = flags
	return r
}

func indexFile(recs ...[]byte) []byte {
	return append([]byte{byte(len(recs))}, bytes.Join(recs, nil)...)
}

func TestParseIndex(t *testing.T) {
	real := indexFile(
		indexRecord(0x0201, 16, "cardid", "", 3),
		indexRecord(0x0204, 86, "cmapfile", "mscp", 1),
		indexRecord(0x0206, 900, "kxc00", "mscp", 1),
		indexRecord(0x0207, 910, "ksc01", "mscp", 1),
		indexRecord(0x0208, 10, "kxc02", "other", 1),
		indexRecord(0x0209, 10, "kxc0x", "mscp", 1),
	)
	for _, tc := range []struct {
		name    string
		in      []byte
		wantN   int
		certs   string
		wantErr bool
	}{
		{"empty", nil, 0, "", true},
		{"zero records", []byte{0}, 0, "", false},
		{"zero records, padding", []byte{0, 0xFF, 0xFF}, 0, "", false},
		{"one record short", append([]byte{1}, make([]byte, 20)...), 0, "", true},
		{"real layout", real, 6, "kxc00/0,ksc01/1", false},
		{"trailing bytes ignored", append(real, 0xAA, 0xBB), 6, "kxc00/0,ksc01/1", false},
		{"count beyond data", append([]byte{7}, real[1:]...), 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIndex(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if len(got) != tc.wantN {
				t.Fatalf("%d entries, want %d", len(got), tc.wantN)
			}
			var cs []string
			for _, c := range certFiles(got) {
				cs = append(cs, c.Name+"/"+string(rune('0'+c.Container)))
			}
			if s := strings.Join(cs, ","); s != tc.certs {
				t.Errorf("certificates %q, want %q", s, tc.certs)
			}
		})
	}
	got, _ := parseIndex(real)
	if e := got[0]; e.FID != 0x0201 || e.Size != 16 || e.Name != "cardid" || e.Dir != "" || e.Flags != 3 {
		t.Errorf("cardid entry %+v", e)
	}
	if e, ok := findFile(got, "cmapfile", "mscp"); !ok || e.FID != 0x0204 {
		t.Errorf("findFile cmapfile: %+v %v", e, ok)
	}
	if _, ok := findFile(got, "cmapfile", ""); ok {
		t.Error("findFile ignores the directory")
	}
}

func TestContainerOf(t *testing.T) {
	for name, want := range map[string]int{"kxc00": 0, "ksc01": 1, "kxc17": 17, "kxc0": -1, "kxc000": -1, "kyc00": -1, "kxc0a": -1, "": -1} {
		n, ok := containerOf(name)
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("containerOf(%q) = %d, want %d", name, n, want)
		}
	}
}

func cmapRecord(guid string, flags byte) []byte {
	r := make([]byte, cmapRecordLen)
	for i, c := range []byte(guid) {
		r[2*i] = c
	}
	r[80] = flags
	return r
}

func TestParseCMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string // GUID or "-" for invalid, per record
	}{
		{"empty", nil, ""},
		{"partial record ignored", make([]byte, 85), ""},
		{"one valid", cmapRecord("SITHS-auth", 3), "SITHS-auth"},
		{"valid, empty, valid", bytes.Join([][]byte{cmapRecord("a", 1), cmapRecord("", 0), cmapRecord("c", 1)}, nil), "a,-,c"},
		{"long GUID cut at 40", cmapRecord(strings.Repeat("g", 40), 1), strings.Repeat("g", 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out []string
			for _, c := range parseCMap(tc.in) {
				if !c.Valid {
					out = append(out, "-")
					continue
				}
				out = append(out, c.GUID)
			}
			if s := strings.Join(out, ","); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

func TestParseKeyRefs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want []keyRef
	}{
		{"empty", nil, nil},
		{"contract: auth key under PIN 1, signing key under PIN 2",
			h("01 56 00 00 00 00 00 01  01 57 01 00 00 00 00 02"),
			[]keyRef{{0x56, 0, refPIN}, {0x57, 1, refSignaturePIN}}},
		{"invalid record skipped", h("00 56 00 00 00 00 00 01  01 57 01 00 00 00 00 01"), []keyRef{{0x57, 1, refPIN}}},
		{"PIN index from byte 0 when byte 7 is zero", h("02 58 02 00 00 00 00 00  01 59 03 00 00 00 00 00"),
			[]keyRef{{0x58, 2, refSignaturePIN}, {0x59, 3, refPIN}}},
		{"partial record ignored", h("01 56 00 00 00 00 00 01  01 57"), []keyRef{{0x56, 0, refPIN}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseKeyRefs(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("record %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func compressed(der []byte, declared int) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, _ = w.Write(der)
	_ = w.Close()
	return append([]byte{0x01, 0x00, byte(declared), byte(declared >> 8)}, buf.Bytes()...)
}

func TestCertificateDER(t *testing.T) {
	der := testCert(t).Raw
	for _, tc := range []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"raw DER", der, ""},
		{"compressed", compressed(der, len(der)), ""},
		{"empty", nil, "neither"},
		{"unknown form", []byte{0x02, 0x00, 0x01, 0x00}, "neither"},
		{"declared zero", compressed(der, 0), "declared length 0"},
		{"declared beyond 16 KiB", compressed(make([]byte, 20000), 20000), "declared length"},
		{"declared longer than the stream", compressed(der, len(der)+1), "declared"},
		{"stream longer than declared", compressed(der, len(der)-1), "longer than declared"},
		{"not zlib", append([]byte{0x01, 0x00, 0x10, 0x00}, "garbage"...), "compressed certificate"},
		{"header only", []byte{0x01, 0x00, 0x10, 0x00}, "compressed certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := certificateDER(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, der) {
				t.Error("DER differs")
			}
			if _, err := parseCertificate(tc.in); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFCISize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"6F 04 80 02 03 84", 900, true},
		{"6F 07 82 01 01 81 02 00 10", 16, true},
		{"6F 81 04 80 02 00 56", 86, true},
		{"6F 03 82 01 01", 0, false},
		{"62 04 80 02 00 10", 0, false},
		{"6F 04 80 02 00", 0, false},
		{"", 0, false},
		{"6F 06 80 04 00 01 00 00", 65536, true},
	} {
		n, ok := fciSize(h(tc.in))
		if n != tc.want || ok != tc.ok {
			t.Errorf("fciSize(%s) = %d %v, want %d %v", tc.in, n, ok, tc.want, tc.ok)
		}
	}
}

func TestIsIDPrimeATR(t *testing.T) {
	for atr, want := range map[string]bool{
		"3B 7F 96 00 00 80 31 80 65 B0 85 59 56 FB 12 0F FE 82 90 00": true, // 940, the contract's
		"3B 7F 18 00 00 80 31 80 65 B0 84 41 3D F6 12 0F FE 82 90 00": true, // another TA1
		"3B 7F 96 00 00 80 31 80 65 B0 85 03 00 EF 12 0F FE 82 90 00": true, // 840
		"3B 7F 96 00 00 80 31 80 65 B0 85 59 56 FB 13 0F FE 82 90 00": false,
		"3B 7F 96 00 00 80 31 80 65 B0 85 59 56 FB 12 0F FE 82 90":    false,
		"3B 8D 80 01 80 73 C0 21 C0 57 53 49 54 48 53 76 63 6B":       false, // the virtual PIV card
		"": false,
	} {
		if got := isIDPrimeATR(h(atr)); got != want {
			t.Errorf("isIDPrimeATR(%s) = %v", atr, got)
		}
	}
}
