package localapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzLocalAPIFrames feeds arbitrary bytes to the agent's side of the
// local API as a client would send them: frames split by newlines, decoded
// strictly, checked for their type, and the params of every method decoded
// into their structs. Whatever comes in: no panic; a refused frame is
// ErrProtocol (or the end of input); an accepted frame passes check,
// carries only fields of its type, and survives encodeFrame and a second
// readFrame unchanged. Seeds (testdata/fuzz/FuzzLocalAPIFrames and below)
// run in every "go test".
func FuzzLocalAPIFrames(f *testing.F) {
	for _, s := range []string{
		`{"type":"call","id":1,"method":"ping"}` + "\n",
		`{"type":"call","id":2,"method":"status","params":{"select":{"cardNumber":"123"},"showPersonalNumber":true}}` + "\n",
		`{"type":"call","id":3,"method":"pin.change","params":{}}` + "\n" + `{"type":"answer","id":3,"seq":1,"secret":"MTIzNDU2"}` + "\n",
		`{"type":"cancel","id":3}` + "\n",
		`{"type":"call","id":4,"method":"login","params":{"link":"sithseid:///?autostarttoken=x"}}` + "\n",
		`{"type":"call","id":5,"method":"handoff","params":{"url":"sithseid:///?autostarttoken=x&redirect=null"}}` + "\n",
		`{"type":"call","id":1,"method":"ping","extra":1}` + "\n",
		`{"type":"reply","id":1}` + "\n",
		`{"type":"call","id":1,"method":"ping"} {}` + "\n",
		"\n\n{}\n",
		`{"type":"answer","id":1,"seq":1,"approved":true}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLineReader(bytes.NewReader(data))
		for i := 0; i < 64; i++ {
			fr, err := readFrame(l, true)
			if err != nil {
				if !errors.Is(err, ErrProtocol) && !errors.Is(err, io.EOF) {
					t.Fatalf("frame %d refused with %v, not ErrProtocol", i, err)
				}
				if errors.Is(err, io.EOF) {
					return
				}
				continue
			}
			if err := fr.check(true); err != nil {
				t.Fatalf("readFrame returned a frame check refuses: %v", err)
			}
			if fr.Type == frameCall {
				decodeParams(t, fr)
			}
			b, err := encodeFrame(&fr)
			if err != nil {
				if errors.Is(err, ErrProtocol) {
					continue // re-encoding grew past MaxFrameSize (escapes)
				}
				t.Fatal(err)
			}
			again, err := readFrame(newLineReader(bytes.NewReader(b)), true)
			if err != nil {
				t.Fatalf("re-encoded frame %s refused: %v", b, err)
			}
			if !reflect.DeepEqual(normal(fr), normal(again)) {
				t.Fatalf("round trip changed the frame:\n%+v\n%+v", fr, again)
			}
		}
	})
}

// normal re-marshals the raw JSON fields, which a round trip may re-space
// and re-escape (json.Marshal writes & as \u0026).
func normal(f frame) frame {
	if len(f.Secret) == 0 {
		f.Secret = nil // "secret":"" decodes to an empty slice, omitted on the way out
	}
	for _, raw := range []*json.RawMessage{&f.Params, &f.Result} {
		if *raw == nil {
			continue
		}
		var v any
		if json.Unmarshal(*raw, &v) == nil {
			*raw, _ = json.Marshal(v)
		}
	}
	return f
}

// decodeParams decodes a call's params as the server would for its
// method; it must fail cleanly or succeed, never panic.
func decodeParams(t *testing.T, fr frame) {
	params := fr.Params
	if params == nil {
		params = json.RawMessage("{}")
	}
	for _, v := range []any{&struct{}{}, &StatusParams{}, &selectOnlyParams{}, &CertRemoveParams{}, &LoginParams{}, &HandoffParams{}, &ExportParams{}, &QRParams{}} {
		if err := decodeStrict(params, v); err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("params refused with %v, not ErrProtocol", err)
		}
	}
	var sp StatusParams
	if decodeStrict(params, &sp) == nil {
		_ = sp.Select.Selector()
		_ = nsDuration(sp.ExpiryWarningNs)
	}
}
