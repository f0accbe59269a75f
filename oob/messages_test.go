package oob

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

var (
	uuidA = "11111111-2222-4333-8444-555555555555"
	uuidB = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	uuidC = "01234567-89ab-4cde-8f01-23456789abcd"
	uuidD = "fedcba98-7654-4321-8fed-cba987654321"
	chal  = b64(bytes.Repeat([]byte{7}, 32))
	qrOK  = QRPayload(uuidB, uuidC, 3)
)

// sample is one valid message of a type, and the top-level keys that may
// be left out.
type sample struct {
	name     string
	new      func() Message
	json     string
	optional []string
}

var samples = []sample{
	{"AuthRequest", func() Message { return new(AuthRequest) },
		`{"endUserIp":"192.0.2.1","userVisibleData":"` + b64([]byte("Logga in på Journalsystemet\nrad två")) + `","returnUrl":"https://journal.example/back?x=1"}`,
		[]string{"returnUrl"}},
	{"AuthRequest-v6", func() Message { return new(AuthRequest) },
		`{"endUserIp":"2001:db8::1","userVisibleData":"` + b64([]byte("Logga in")) + `"}`, nil},
	{"AuthRequest-strict", func() Message { return new(AuthRequest) },
		`{"endUserIp":"192.0.2.1","userVisibleData":"` + b64([]byte("Logga in")) + `","requireEndUserIpMatch":true}`,
		[]string{"requireEndUserIpMatch"}},
	{"AuthResponse", func() Message { return new(AuthResponse) },
		`{"orderRef":"` + uuidA + `","autoStartToken":"` + uuidB + `","qrStartToken":"` + uuidC + `","qrStartSecret":"` + uuidD + `"}`, nil},
	{"CollectRequest", func() Message { return new(CollectRequest) }, `{"orderRef":"` + uuidA + `"}`, nil},
	{"CancelRequest", func() Message { return new(CancelRequest) }, `{"orderRef":"` + uuidA + `"}`, nil},
	{"CollectResponse-pending", func() Message { return new(CollectResponse) },
		`{"orderRef":"` + uuidA + `","status":"pending","hintCode":"outstandingTransaction"}`, nil},
	{"CollectResponse-failed", func() Message { return new(CollectResponse) },
		`{"orderRef":"` + uuidA + `","status":"failed","hintCode":"someFutureCode"}`, nil},
	{"CollectResponse-complete", func() Message { return new(CollectResponse) },
		`{"orderRef":"` + uuidA + `","status":"complete","completionData":{"user":{"hsaId":"SE2321000016-1234","name":"Åsa Öberg","givenName":"Åsa","surname":"Öberg"},"device":{"ipAddress":"198.51.100.7"},"cert":{"notBefore":"1700000000000","notAfter":"1800000000000"},"signature":"` + b64([]byte("sig")) + `","ocspResponse":"` + b64([]byte("ocsp")) + `"}}`, nil},
	{"EmptyResponse", func() Message { return new(EmptyResponse) }, `{}`, nil},
	{"ErrorResponse", func() Message { return new(ErrorResponse) }, `{"errorCode":"notFound","details":"no such order"}`, nil},
	{"LookupRequest-token", func() Message { return new(LookupRequest) }, `{"autoStartToken":"` + uuidB + `"}`, nil},
	{"LookupRequest-qr", func() Message { return new(LookupRequest) }, `{"qrCode":"` + qrOK + `"}`, nil},
	{"LookupResponse", func() Message { return new(LookupResponse) },
		`{"transactionId":"` + uuidA + `","relyingParty":{"name":"Journalsystemet Demo","orgId":"232100-0016"},"userVisibleText":"Logga in\npå Journalsystemet","challenge":"` + chal + `","expiresAt":"2026-11-22T08:00:00Z"}`, nil},
	{"LookupResponse-origin", func() Message { return new(LookupResponse) },
		`{"transactionId":"` + uuidA + `","relyingParty":{"name":"Journalsystemet Demo"},"userVisibleText":"Logga in","challenge":"` + chal + `","expiresAt":"2026-11-22T08:00:00Z","origin":{"endUserIp":"192.0.2.7","endUserIpMatch":false}}`,
		[]string{"origin"}},
	{"QRRequest", func() Message { return new(QRRequest) }, `{"autoStartToken":"` + uuidB + `"}`, nil},
	{"QRResponse", func() Message { return new(QRResponse) }, `{"qrCode":"` + qrOK + `","validFor":27}`, nil},
	{"CompleteRequest", func() Message { return new(CompleteRequest) },
		`{"transactionId":"` + uuidA + `","signatureAlgorithm":"rsa-pss-sha256","signature":"` + b64(bytes.Repeat([]byte{1}, 256)) + `"}`, nil},
	{"CompleteResponse", func() Message { return new(CompleteResponse) }, `{"status":"complete","redirect":"https://journal.example/"}`, nil},
	{"CompleteResponse-null", func() Message { return new(CompleteResponse) }, `{"status":"complete","redirect":null}`, nil},
	{"TransactionCancelRequest", func() Message { return new(TransactionCancelRequest) },
		`{"transactionId":"` + uuidA + `","reason":"cardRemoved"}`, nil},
}

func mutate(t *testing.T, js string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantMalformed(t *testing.T, s sample, what, in string) {
	t.Helper()
	err := DecodeBytes([]byte(in), s.new())
	if err == nil {
		t.Errorf("%s: %s: accepted %s", s.name, what, in)
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
		t.Errorf("%s: %s: error %v is not a *DecodeError", s.name, what, err)
	}
}

func TestDecodeSamplesRoundTrip(t *testing.T) {
	for _, s := range samples {
		m := s.new()
		if err := Decode(strings.NewReader(s.json), m); err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		b, err := Encode(m)
		if err != nil {
			t.Errorf("%s: Encode: %v", s.name, err)
			continue
		}
		m2 := s.new()
		if err := DecodeBytes(b, m2); err != nil || !reflect.DeepEqual(m, m2) {
			t.Errorf("%s: round trip %s: %v", s.name, b, err)
		}
		// Surrounding white space is fine.
		if err := DecodeBytes([]byte(" \n"+s.json+"\r\n\t"), s.new()); err != nil {
			t.Errorf("%s: with white space: %v", s.name, err)
		}
	}
}

func TestDecodeStructuralErrors(t *testing.T) {
	for _, s := range samples {
		var keys map[string]json.RawMessage
		json.Unmarshal([]byte(s.json), &keys)
		for k := range keys {
			optional := false
			for _, o := range s.optional {
				optional = optional || o == k
			}
			if !optional {
				wantMalformed(t, s, "missing "+k, mutate(t, s.json, func(m map[string]any) { delete(m, k) }))
			}
			wrong := any(true)
			if v := string(keys[k]); v == "true" || v == "false" {
				wrong = "true" // a boolean field: a string is the wrong type
			}
			wantMalformed(t, s, "wrong type "+k, mutate(t, s.json, func(m map[string]any) { m[k] = wrong }))
			wantMalformed(t, s, "array "+k, mutate(t, s.json, func(m map[string]any) { m[k] = []any{m[k]} }))
			if !strings.HasPrefix(s.name, "CompleteResponse") || k != "redirect" {
				wantMalformed(t, s, "null "+k, mutate(t, s.json, func(m map[string]any) { m[k] = nil }))
			}
			// Case folding: encoding/json would accept "ORDERREF" for orderRef.
			wantMalformed(t, s, "case-folded "+k, strings.Replace(s.json, `"`+k+`":`, `"`+strings.ToUpper(k)+`":`, 1))
			// Duplicate key with another value: encoding/json keeps the last.
			wantMalformed(t, s, "duplicate "+k, strings.Replace(s.json, `"`+k+`":`, `"`+k+`":`+string(keys[k])+`,"`+k+`":`, 1))
		}
		wantMalformed(t, s, "unknown field", mutate(t, s.json, func(m map[string]any) { m["extra"] = "x" }))
		wantMalformed(t, s, "trailing garbage", s.json+"x")
		wantMalformed(t, s, "second value", s.json+s.json)
		wantMalformed(t, s, "truncated", s.json[:len(s.json)-1])
		wantMalformed(t, s, "empty body", "")
		wantMalformed(t, s, "null body", "null")
		wantMalformed(t, s, "array body", "["+s.json+"]")
		wantMalformed(t, s, "string body", `"x"`)
		wantMalformed(t, s, "invalid UTF-8", strings.Replace(s.json, "{", "{\"\xff\":1,", 1))
		pad := `{"extra":"` + strings.Repeat("a", MaxBodySize) + `",` + s.json[1:]
		if err := DecodeBytes([]byte(pad), s.new()); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: oversize: %v, want ErrTooLarge", s.name, err)
		}
		// A streamed oversize body is cut at MaxBodySize+1 and refused.
		if err := Decode(strings.NewReader(s.json+strings.Repeat(" ", MaxBodySize)), s.new()); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: oversize stream: %v, want ErrTooLarge", s.name, err)
		}
	}
}

func TestDecodeNestedStrictness(t *testing.T) {
	var lookup, complete sample
	for _, s := range samples {
		switch s.name {
		case "LookupResponse":
			lookup = s
		case "CollectResponse-complete":
			complete = s
		}
	}
	for what, in := range map[string]string{
		"nested unknown":   strings.Replace(lookup.json, `"orgId"`, `"x":1,"orgId"`, 1),
		"nested case":      strings.Replace(lookup.json, `"name":`, `"Name":`, 1),
		"nested duplicate": strings.Replace(lookup.json, `"name":`, `"name":"Evil","name":`, 1),
		"nested null":      strings.Replace(lookup.json, `"name":"Journalsystemet Demo"`, `"name":null`, 1),
		"nested missing":   strings.Replace(lookup.json, `"name":"Journalsystemet Demo",`, ``, 1),
	} {
		wantMalformed(t, lookup, what, in)
	}
	for what, in := range map[string]string{
		"deep unknown":    strings.Replace(complete.json, `"hsaId"`, `"admin":true,"hsaId"`, 1),
		"deep missing":    strings.Replace(complete.json, `"device":{"ipAddress":"198.51.100.7"},`, ``, 1),
		"deep duplicate":  strings.Replace(complete.json, `"hsaId":`, `"hsaId":"SE2321000016-9999","hsaId":`, 1),
		"deep wrong type": strings.Replace(complete.json, `"notBefore":"1700000000000"`, `"notBefore":1700000000000`, 1),
	} {
		wantMalformed(t, complete, what, in)
	}
}

// The lookup's origin is as strict as the rest: both fields, exact keys,
// an IP address without zone.
func TestDecodeOriginStrictness(t *testing.T) {
	var s sample
	for _, x := range samples {
		if x.name == "LookupResponse-origin" {
			s = x
		}
	}
	for what, in := range map[string]string{
		"origin missing match": strings.Replace(s.json, `,"endUserIpMatch":false`, ``, 1),
		"origin missing ip":    strings.Replace(s.json, `"endUserIp":"192.0.2.7",`, ``, 1),
		"origin unknown":       strings.Replace(s.json, `"endUserIpMatch":false`, `"endUserIpMatch":false,"lookupIp":"1.2.3.4"`, 1),
		"origin case":          strings.Replace(s.json, `"endUserIpMatch":`, `"EndUserIpMatch":`, 1),
		"origin duplicate":     strings.Replace(s.json, `"endUserIpMatch":false`, `"endUserIpMatch":false,"endUserIpMatch":true`, 1),
		"origin string match":  strings.Replace(s.json, `"endUserIpMatch":false`, `"endUserIpMatch":"false"`, 1),
		"origin bad ip":        strings.Replace(s.json, `"192.0.2.7"`, `"192.0.2.999"`, 1),
		"origin zone":          strings.Replace(s.json, `"192.0.2.7"`, `"fe80::1%eth0"`, 1),
		"origin host name":     strings.Replace(s.json, `"192.0.2.7"`, `"localhost"`, 1),
		"origin null":          strings.Replace(s.json, `{"endUserIp":"192.0.2.7","endUserIpMatch":false}`, `null`, 1),
		"origin empty":         strings.Replace(s.json, `{"endUserIp":"192.0.2.7","endUserIpMatch":false}`, `{}`, 1),
	} {
		wantMalformed(t, s, what, in)
	}
}

func TestDecodeValueErrors(t *testing.T) {
	byName := map[string]sample{}
	for _, s := range samples {
		byName[s.name] = s
	}
	set := func(name, key string, v any) (sample, string, string) {
		s := byName[name]
		return s, key + "=" + strings.ReplaceAll(string(mustJSON(v)), "\n", `\n`), mutate(t, s.json, func(m map[string]any) { m[key] = v })
	}
	lr := func(f func(m map[string]any)) (sample, string, string) {
		s := byName["LookupResponse"]
		return s, "LookupResponse", mutate(t, s.json, f)
	}
	cd := func(f func(cd map[string]any)) (sample, string, string) {
		s := byName["CollectResponse-complete"]
		return s, "completionData", mutate(t, s.json, func(m map[string]any) { f(m["completionData"].(map[string]any)) })
	}
	long := strings.Repeat("å", MaxUserVisibleText+1)
	cases := [][3]any{}
	add := func(s sample, what, in string) { cases = append(cases, [3]any{s, what, in}) }
	add(set("AuthRequest", "endUserIp", "not-an-ip"))
	add(set("AuthRequest", "endUserIp", "fe80::1%eth0"))
	add(set("AuthRequest", "endUserIp", ""))
	add(set("AuthRequest", "userVisibleData", ""))
	add(set("AuthRequest", "userVisibleData", "TG9nZ2EgaW4"))    // no padding
	add(set("AuthRequest", "userVisibleData", "TG9nZ2EgaW4=\n")) // line break
	add(set("AuthRequest", "userVisibleData", "TG9nZ2EgaW5="))   // non-zero padding bits
	add(set("AuthRequest", "userVisibleData", "-_8="))           // URL alphabet
	add(set("AuthRequest", "userVisibleData", b64([]byte("a\x07b"))))
	add(set("AuthRequest", "userVisibleData", b64([]byte("a\rb"))))
	add(set("AuthRequest", "userVisibleData", b64([]byte("Journal\u202Emetsys"))))
	// Invisible format characters and separators (Unicode Cf, Zl, Zp):
	// hidden text, look-alike names, a second line in a one-line field.
	for _, r := range []string{"\u200B", "\u200D", "\uFEFF", "\u00AD", "\U000E0041", "\u2028", "\u2029"} {
		add(set("AuthRequest", "userVisibleData", b64([]byte("Logga"+r+"in"))))
		add(lr(func(m map[string]any) { m["relyingParty"].(map[string]any)["name"] = "Journal" + r + "systemet" }))
	}
	add(set("AuthRequest", "userVisibleData", b64([]byte("bad \xff utf8"))))
	add(set("AuthRequest", "userVisibleData", b64([]byte(long))))
	add(set("AuthRequest", "returnUrl", "javascript:alert(1)"))
	add(set("AuthRequest", "returnUrl", "http://evil.example/"))
	add(set("AuthRequest", "returnUrl", ""))
	add(set("AuthResponse", "orderRef", strings.ToUpper(uuidB)))
	add(set("CollectResponse-pending", "completionData", nil))
	add(set("LookupRequest-qr", "autoStartToken", ""))
	add(set("AuthResponse", "qrStartSecret", "{"+uuidD+"}"))
	add(set("AuthResponse", "autoStartToken", strings.ReplaceAll(uuidB, "-", "")))
	add(set("CollectRequest", "orderRef", ""))
	add(set("CollectResponse-pending", "status", "unknown"))
	add(set("CollectResponse-pending", "hintCode", "has space"))
	add(set("CollectResponse-pending", "hintCode", strings.Repeat("a", 65)))
	add(set("CollectResponse-pending", "completionData", map[string]any{}))
	add(set("CollectResponse-complete", "hintCode", "started"))
	add(set("CollectResponse-complete", "status", "pending"))
	add(cd(func(c map[string]any) { c["user"].(map[string]any)["hsaId"] = "SE232100001-1234" }))
	add(cd(func(c map[string]any) { c["user"].(map[string]any)["hsaId"] = "SE2321000016-" }))
	add(cd(func(c map[string]any) { c["user"].(map[string]any)["hsaId"] = "19121212-1212" }))
	add(cd(func(c map[string]any) { c["user"].(map[string]any)["name"] = "Åsa\nÖberg" }))
	add(cd(func(c map[string]any) { c["device"].(map[string]any)["ipAddress"] = "x" }))
	add(cd(func(c map[string]any) { c["cert"].(map[string]any)["notBefore"] = "01700000000000" }))
	add(cd(func(c map[string]any) { c["cert"].(map[string]any)["notAfter"] = "1600000000000" }))
	add(cd(func(c map[string]any) { c["cert"].(map[string]any)["notAfter"] = "-1" }))
	add(cd(func(c map[string]any) { c["signature"] = "" }))
	add(cd(func(c map[string]any) { c["ocspResponse"] = "" }))
	add(set("ErrorResponse", "errorCode", ""))
	add(set("ErrorResponse", "details", strings.Repeat("x", MaxDetails+1)))
	add(set("LookupRequest-token", "qrCode", qrOK)) // both
	add(set("LookupRequest-token", "autoStartToken", ""))
	add(set("LookupRequest-qr", "qrCode", "bankid."+uuidB+".3."+strings.Repeat("a", 64)))
	add(lr(func(m map[string]any) { m["challenge"] = b64(make([]byte, 31)) }))
	add(lr(func(m map[string]any) { m["challenge"] = b64(make([]byte, 33)) }))
	add(lr(func(m map[string]any) { m["challenge"] = "" }))
	add(lr(func(m map[string]any) { m["expiresAt"] = "2026-11-22 08:00:00" }))
	add(lr(func(m map[string]any) { m["expiresAt"] = "0001-01-01T00:00:00Z" }))
	add(lr(func(m map[string]any) { m["userVisibleText"] = "" }))
	add(lr(func(m map[string]any) { m["userVisibleText"] = long }))
	add(lr(func(m map[string]any) { m["userVisibleText"] = "x\u2066y" }))
	add(lr(func(m map[string]any) { m["relyingParty"].(map[string]any)["name"] = "two\nlines" }))
	add(lr(func(m map[string]any) {
		m["relyingParty"].(map[string]any)["name"] = strings.Repeat("n", MaxRelyingPartyName+1)
	}))
	add(lr(func(m map[string]any) { m["relyingParty"].(map[string]any)["orgId"] = "12345" }))
	add(lr(func(m map[string]any) { m["transactionId"] = "1" }))
	add(set("QRResponse", "validFor", 31))
	add(set("QRResponse", "validFor", -1))
	add(set("QRResponse", "validFor", 1.5))
	add(set("QRResponse", "qrCode", "sithseid."+uuidB))
	add(set("CompleteRequest", "signatureAlgorithm", "rsa-sha1"))
	add(set("CompleteRequest", "signature", ""))
	add(set("CompleteRequest", "signature", b64(make([]byte, MaxSignatureSize+1))))
	add(set("CompleteResponse", "status", "pending"))
	add(set("CompleteResponse", "redirect", "javascript:alert(1)"))
	add(set("CompleteResponse", "redirect", ""))
	add(set("TransactionCancelRequest", "reason", "expiredTransaction"))
	for _, c := range cases {
		wantMalformed(t, c[0].(sample), c[1].(string), c[2].(string))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestEncodeRefusesInvalid(t *testing.T) {
	if _, err := Encode(&LookupResponse{TransactionID: uuidA}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Encode of an invalid LookupResponse: %v", err)
	}
}

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := NewUUID()
		if !IsCanonicalUUID(u) || u[14] != '4' || !strings.ContainsRune("89ab", rune(u[19])) {
			t.Fatalf("NewUUID() = %q", u)
		}
		if seen[u] {
			t.Fatalf("NewUUID repeated %q", u)
		}
		seen[u] = true
	}
}

func TestCheckHSAID(t *testing.T) {
	for _, s := range []string{"SE2321000016-1234", "SE5565594230-ABC1", "SE2321000016-a"} {
		if err := CheckHSAID(s); err != nil {
			t.Errorf("CheckHSAID(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "SE2321000016", "se2321000016-1234", "SE232100001X-1", "SE2321000016-12 4", "SE2321000016-1-2", "SE2321000016-" + strings.Repeat("1", 32)} {
		if CheckHSAID(s) == nil {
			t.Errorf("CheckHSAID(%q) accepted", s)
		}
	}
}

// SameEndUser: equal addresses, IPv4-mapped forms and any two loopback
// addresses are the same end user; LAN, public and unparsable ones are not.
func TestSameEndUser(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"192.0.2.7", "192.0.2.7", true},
		{"::ffff:192.0.2.7", "192.0.2.7", true},
		{"2001:db8::1", "2001:DB8::1", true},
		{"127.0.0.1", "::1", true},
		{"127.0.0.1", "127.0.1.1", true},
		{"192.0.2.7", "192.0.2.8", false},
		{"127.0.0.1", "10.0.0.5", false},
		{"::1", "192.168.1.10", false},
		{"192.0.2.7", "", false},
		{"localhost", "127.0.0.1", false},
	} {
		if got := SameEndUser(tc.a, tc.b); got != tc.want {
			t.Errorf("SameEndUser(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
