package oob

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func FuzzParseAutoStartURL(f *testing.F) {
	for _, s := range []string{
		"sithseid:///?autostarttoken=" + tok + "&redirect=null",
		"sithseid://?redirect=null&autostarttoken=" + tok,
		AutoStartURL(tok, "https://journal.example/login?a=1&b=2"),
		AutoStartURL(tok, "http://127.0.0.1:8080/x"),
		"sithseid:///?autostarttoken=" + tok + "&redirect=javascript%3Aalert(1)",
		"sithseid://evil/?autostarttoken=" + tok + "&redirect=null",
		"sithseid:///?autostarttoken=" + tok + "&autostarttoken=" + tok + "&redirect=null",
		"bankid:///?autostarttoken=" + tok + "&redirect=null",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		as, err := ParseAutoStartURL(s)
		if err != nil {
			return
		}
		if !IsCanonicalUUID(as.Token) {
			t.Fatalf("accepted token %q", as.Token)
		}
		if as.Redirect != "" && CheckRedirect(as.Redirect) != nil {
			t.Fatalf("accepted redirect %q", as.Redirect)
		}
		again, err := ParseAutoStartURL(AutoStartURL(as.Token, as.Redirect))
		if err != nil || again != as {
			t.Fatalf("rebuilt URL parses to %+v, %v; want %+v", again, err, as)
		}
	})
}

func FuzzParseQRPayload(f *testing.F) {
	f.Add(QRPayload(bankIDToken, bankIDSecret, 0))
	f.Add(QRPayload(tok, bankIDSecret, 29))
	f.Add(qrPayload("bankid", bankIDToken, bankIDSecret, 0))
	f.Add("sithseid." + tok + ".01." + strings.Repeat("0", 64))
	f.Add("sithseid..0.")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQRPayload(s)
		if err != nil {
			return
		}
		// One payload, one spelling.
		if q.String() != s {
			t.Fatalf("parsed %q, prints %q", s, q.String())
		}
		if q.Time < 0 || q.Time > maxQRTime {
			t.Fatalf("t = %d", q.Time)
		}
	})
}

// fuzzDecode checks for one message type that Decode never panics, that
// whatever it accepts re-encodes and decodes to the same value, and that
// plain encoding/json reads an accepted body the same way (no parser
// disagreement for a proxy to exploit).
func fuzzDecode[T any, PT interface {
	*T
	Message
}](f *testing.F) {
	var zero T
	name := reflect.TypeOf(zero).Name()
	for _, s := range samples {
		if strings.HasPrefix(s.name, name) && (len(s.name) == len(name) || s.name[len(name)] == '-') {
			f.Add([]byte(s.json))
			f.Add([]byte(s.json + " x"))
			f.Add([]byte(strings.Replace(s.json, `":`, `" :`, 1)))
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := PT(new(T))
		if err := DecodeBytes(data, m); err != nil {
			return
		}
		var lax T
		if err := json.Unmarshal(data, &lax); err != nil || !reflect.DeepEqual(lax, *m) {
			t.Fatalf("encoding/json reads %s as %+v (%v), strict decoder as %+v", data, lax, err, *m)
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted %s but cannot encode it: %v", data, err)
		}
		m2 := PT(new(T))
		if err := DecodeBytes(b, m2); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded %s decodes to %+v, %v", b, m2, err)
		}
	})
}

func FuzzDecodeAuthRequest(f *testing.F)     { fuzzDecode[AuthRequest](f) }
func FuzzDecodeAuthResponse(f *testing.F)    { fuzzDecode[AuthResponse](f) }
func FuzzDecodeCollectRequest(f *testing.F)  { fuzzDecode[CollectRequest](f) }
func FuzzDecodeCollectResponse(f *testing.F) { fuzzDecode[CollectResponse](f) }
func FuzzDecodeCancelRequest(f *testing.F)   { fuzzDecode[CancelRequest](f) }
func FuzzDecodeEmptyResponse(f *testing.F)   { fuzzDecode[EmptyResponse](f) }
func FuzzDecodeErrorResponse(f *testing.F)   { fuzzDecode[ErrorResponse](f) }
func FuzzDecodeLookupRequest(f *testing.F)   { fuzzDecode[LookupRequest](f) }
func FuzzDecodeLookupResponse(f *testing.F)  { fuzzDecode[LookupResponse](f) }
func FuzzDecodeQRRequest(f *testing.F)       { fuzzDecode[QRRequest](f) }
func FuzzDecodeQRResponse(f *testing.F)      { fuzzDecode[QRResponse](f) }
func FuzzDecodeCompleteRequest(f *testing.F) { fuzzDecode[CompleteRequest](f) }
func FuzzDecodeCompleteResponse(f *testing.F) {
	fuzzDecode[CompleteResponse](f)
}
func FuzzDecodeTransactionCancelRequest(f *testing.F) {
	fuzzDecode[TransactionCancelRequest](f)
}
