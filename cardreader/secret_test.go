package cardreader

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A Secret never shows its bytes: not through any fmt verb, not in JSON or
// text marshalling, not through slog in either handler; Wipe zeroes the
// very bytes it was given.
func TestSecretNeverPrints(t *testing.T) {
	const pin = "493817"
	raw := []byte(pin)
	s := NewSecret(raw)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T:%v"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, pin) || strings.Contains(out, fmt.Sprintf("%x", pin)) {
			t.Errorf("%s prints %q", verb, out)
		}
	}
	// Inside a struct too.
	wrapped := struct{ PIN *Secret }{s}
	if out := fmt.Sprintf("%+v %#v", wrapped, wrapped); strings.Contains(out, pin) {
		t.Errorf("struct prints %q", out)
	}
	if _, err := json.Marshal(wrapped); err == nil {
		t.Error("json.Marshal of a Secret succeeded")
	}
	if _, err := s.MarshalText(); err == nil {
		t.Error("MarshalText succeeded")
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("verify", "pin", s, "group", slog.GroupValue(slog.Any("puk", s)))
	}
	if strings.Contains(buf.String(), pin) || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("slog: %s", buf.String())
	}
	if !s.Equal(NewSecret([]byte(pin))) || s.Equal(NewSecret([]byte("493818"))) || s.Equal(NewSecret([]byte("49381"))) {
		t.Error("Equal")
	}
	s.Wipe()
	if !bytes.Equal(raw, make([]byte, len(pin))) {
		t.Errorf("after Wipe the bytes are %q", raw)
	}
	if !s.Empty() || s.Bytes() != nil {
		t.Error("a wiped secret is not empty")
	}
	var nilSecret *Secret
	nilSecret.Wipe()
	if !nilSecret.Empty() || nilSecret.String() != "[redacted]" {
		t.Error("nil secret")
	}
}
