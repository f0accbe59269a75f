package l10n

import (
	"encoding/json"
	"io/fs"
	"maps"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/assets"
)

// viaEncodingJSON is what decode stands in for.
func viaEncodingJSON(data string) (map[string]string, error) {
	var m map[string]string
	err := json.Unmarshal([]byte(data), &m)
	return m, err
}

// The catalogues decode to exactly what encoding/json makes of them.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, lang := range []Lang{Swedish, English} {
		b, err := fs.ReadFile(assets.Translations(), string(lang)+".json")
		if err != nil {
			t.Fatal(err)
		}
		want, err := viaEncodingJSON(string(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(string(b))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if len(got) < 100 || !maps.Equal(got, want) {
			t.Errorf("%s: %d messages decoded, encoding/json has %d, or they differ", lang, len(got), len(want))
		}
	}
}

func TestDecode(t *testing.T) {
	for _, in := range []string{
		`{}`,
		` { } `,
		"{\n  \"a\": \"b\",\n  \"c\": \"d\"\n}\n",
		`{"a":"x\ny\tz\"q\\w\/e\b\f\r"}`,
		`{"a":"åäö","b":"\u00e5\u00E4"}`,
		`{"smile":"\ud83d\ude00","lone":"\ud83d x"}`,
		`{"a":"1","a":"2"}`,
		`{"":""}`,
		"{\"bad\":\"\xff\xfe\"}",
		"{\"bad\":\"\xff\\n\"}",
		`{"a":"%s har %d försök kvar"}`,
	} {
		want, err := viaEncodingJSON(in)
		if err != nil {
			t.Fatalf("%q: encoding/json: %v", in, err)
		}
		got, err := decode(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !maps.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{
		``, `[]`, `"a"`, `{`, `{"a"}`, `{"a":}`, `{"a":"b",}`, `{"a":"b"`, `{"a":"b"}x`,
		`{"a":1}`, `{"a":"b" "c":"d"}`, "{\"a\":\"b\nc\"}", `{"a":"\x"}`, `{"a":"\u12"}`,
		`{"a":"b\`, `{"a":"b`, `{a:"b"}`, `{"a":"b"}{}`,
	} {
		if m, err := decode(in); err == nil {
			t.Errorf("%q: decoded to %q, want an error", in, m)
		}
		if _, err := viaEncodingJSON(in); err == nil {
			t.Errorf("%q: encoding/json takes it: the case is wrong", in)
		}
	}
}

// What decode takes, encoding/json takes and decodes the same; what
// encoding/json takes as an object of strings, decode takes (but for
// null, which encoding/json lets through as nothing: never in a
// catalogue).
func FuzzDecode(f *testing.F) {
	f.Add(`{"a":"b"}`)
	f.Add(`{"a":"x\ny\u00e5\ud83d\ude00"}`)
	f.Add("{\"a\":\"\xff\"}")
	f.Add(`{"a":"1","a":"2"}`)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := decode(in)
		want, jerr := viaEncodingJSON(in)
		if err == nil {
			if jerr != nil {
				t.Fatalf("%q: decoded to %q, encoding/json: %v", in, got, jerr)
			}
			if !maps.Equal(got, want) {
				t.Fatalf("%q: got %q, encoding/json %q", in, got, want)
			}
			return
		}
		if jerr == nil && want != nil && !strings.Contains(in, "null") {
			t.Fatalf("%q: %v, but encoding/json decodes %q", in, err, want)
		}
	})
}

// A Swedish catalogue reads English only at its first miss.
func TestFallbackReadAtFirstMiss(t *testing.T) {
	c := MustLoad(Swedish)
	if got := c.T("pin.changed"); got == "pin.changed" || got == "" {
		t.Fatalf("pin.changed: %q", got)
	}
	if c.fallback != nil {
		t.Fatal("English read for an ID Swedish has")
	}
	c.messages = map[string]string{} // as if Swedish lacked every ID
	if got, want := c.T("pin.changed"), MustLoad(English).T("pin.changed"); got != want {
		t.Errorf("fallback: got %q, want English %q", got, want)
	}
	if MustLoad(English).T("no.such.id") != "no.such.id" {
		t.Error("English: an unknown ID does not show as itself")
	}
}

// go test -run '^$' -bench Load -benchmem ./internal/l10n/
func BenchmarkLoad(b *testing.B) {
	for _, lang := range []Lang{Swedish, English} {
		b.Run(string(lang), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = MustLoad(lang).T("pin.changed")
			}
		})
	}
}

// decode beside encoding/json on the Swedish catalogue, in one run:
// go test -run '^$' -bench Decode -benchmem ./internal/l10n/
func BenchmarkDecode(b *testing.B) {
	data, err := fs.ReadFile(assets.Translations(), "sv.json")
	if err != nil {
		b.Fatal(err)
	}
	for name, f := range map[string]func(string) (map[string]string, error){"decode": decode, "encoding_json": viaEncodingJSON} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f(string(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
