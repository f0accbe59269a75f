package idp

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/oob"
)

// Malformed bodies are refused with 400 invalidParameters, before any
// state changes.
func TestMalformedRequests(t *testing.T) {
	f := newFixture(t, nil)
	a := f.auth("Logga in", "")
	big := `{"autoStartToken":"` + a.AutoStartToken + `","x":"` + strings.Repeat("A", 70<<10) + `"}`
	for _, tc := range []struct {
		name, path, body, ctype string
	}{
		{"garbage", oob.PathLookup, "\x00\x01garbage", ""},
		{"empty", oob.PathLookup, "", ""},
		{"not an object", oob.PathLookup, `["x"]`, ""},
		{"unknown field", oob.PathLookup, `{"autoStartToken":"` + a.AutoStartToken + `","orderRef":"x"}`, ""},
		{"duplicate key", oob.PathLookup, `{"autoStartToken":"` + a.AutoStartToken + `","autoStartToken":"` + a.AutoStartToken + `"}`, ""},
		{"case-folded key", oob.PathLookup, `{"AutoStartToken":"` + a.AutoStartToken + `"}`, ""},
		{"trailing data", oob.PathLookup, `{"autoStartToken":"` + a.AutoStartToken + `"} {}`, ""},
		{"oversize", oob.PathLookup, big, ""},
		{"both keys", oob.PathLookup, `{"autoStartToken":"` + a.AutoStartToken + `","qrCode":"` + oob.QRPayload(a.QRStartToken, a.QRStartSecret, 0) + `"}`, ""},
		{"uppercase UUID", oob.PathLookup, `{"autoStartToken":"` + strings.ToUpper(a.AutoStartToken) + `"}`, ""},
		{"wrong content type", oob.PathLookup, `{"autoStartToken":"` + a.AutoStartToken + `"}`, "text/plain"},
		{"invalid UTF-8", oob.PathAuth, "{\"endUserIp\":\"1.2.3.4\",\"userVisibleData\":\"eA==\",\"returnUrl\":\"https://a/\xff\"}", ""},
		{"text with bidi control", oob.PathAuth, `{"endUserIp":"1.2.3.4","userVisibleData":"4oCuSm91cm5hbA=="}`, ""},
		{"javascript return URL", oob.PathAuth, `{"endUserIp":"1.2.3.4","userVisibleData":"eA==","returnUrl":"javascript:alert(1)"}`, ""},
		{"bad IP", oob.PathAuth, `{"endUserIp":"localhost","userVisibleData":"eA=="}`, ""},
		{"base64 without padding", oob.PathAuth, `{"endUserIp":"1.2.3.4","userVisibleData":"eA"}`, ""},
		{"text too long", oob.PathAuth, `{"endUserIp":"1.2.3.4","userVisibleData":"` + b64(strings.Repeat("x", 1501)) + `"}`, ""},
		{"collect without orderRef", oob.PathCollect, `{}`, ""},
		{"complete with unknown algorithm", oob.PathComplete, `{"transactionId":"` + oob.NewUUID() + `","signatureAlgorithm":"rsa-md5","signature":"eA=="}`, ""},
		{"cancel with unknown reason", oob.PathTransactionCancel, `{"transactionId":"` + oob.NewUUID() + `","reason":"bored"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			ct := tc.ctype
			if ct == "" {
				ct = "application/json"
			}
			r := f.post(f.plain, tc.path, []byte(tc.body), map[string]string{
				"Content-Type": ct, "Authorization": "Bearer " + testRPKey,
			})
			f.wantError(r, http.StatusBadRequest, oob.ErrorCodeInvalidParameters, "")
		})
	}
	f.t = t
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintOutstandingTransaction)

	// Wrong method and unknown paths answer JSON errors or 405.
	resp, err := f.plain.Get(f.ts.URL + oob.PathAuth)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET auth: %d", resp.StatusCode)
	}
	f.wantError(f.post(f.plain, "/rp/v5.1/auth", "{}", nil), http.StatusNotFound, oob.ErrorCodeNotFound, "")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// The relying-party API needs a known bearer key.
func TestUnauthorized(t *testing.T) {
	f := newFixture(t, nil)
	body := map[string]string{"endUserIp": "1.2.3.4", "userVisibleData": "eA=="}
	for _, h := range []map[string]string{
		nil,
		{"Authorization": "Bearer "},
		{"Authorization": "Bearer " + testRPKey + "x"},
		{"Authorization": "Bearer " + testRPKey[:len(testRPKey)-1]},
		{"Authorization": "Basic " + testRPKey},
		{"Authorization": "bearer" + testRPKey},
	} {
		r := f.post(f.plain, oob.PathAuth, body, h)
		f.wantError(r, http.StatusUnauthorized, oob.ErrorCodeUnauthorized, "")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	}
}

// Token buckets per relying-party key and per client IP: 429 with
// Retry-After when empty, refilled as the clock moves.
func TestRateLimits(t *testing.T) {
	t.Run("per relying party", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.RPRate, o.RPBurst = 0.5, 3 })
		a := f.auth("x", "")
		f.collect(a.OrderRef)
		f.collect(a.OrderRef)
		r := f.rp(oob.PathCollect, map[string]string{"orderRef": a.OrderRef})
		f.wantError(r, http.StatusTooManyRequests, oob.ErrorCodeTooManyRequests, "")
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra != 2 {
			t.Fatalf("Retry-After %q, want 2", r.header.Get("Retry-After"))
		}
		// The authenticator API is not charged to the relying party.
		f.lookup(a.AutoStartToken)
		f.clock.Advance(2 * time.Second)
		f.collect(a.OrderRef)
		f.wantError(f.rp(oob.PathCollect, map[string]string{"orderRef": a.OrderRef}), http.StatusTooManyRequests, oob.ErrorCodeTooManyRequests, "")
	})
	t.Run("per client IP", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.IPRate, o.IPBurst = 1, 2 })
		f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": oob.NewUUID()}, nil), http.StatusNotFound, oob.ErrorCodeNotFound, "")
		f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": oob.NewUUID()}, nil), http.StatusNotFound, oob.ErrorCodeNotFound, "")
		r := f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": oob.NewUUID()}, nil)
		f.wantError(r, http.StatusTooManyRequests, oob.ErrorCodeTooManyRequests, "")
		if r.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		f.clock.Advance(time.Second)
		f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": oob.NewUUID()}, nil), http.StatusNotFound, oob.ErrorCodeNotFound, "")
	})
}

func TestRateLimiterForgetsIdleBuckets(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := newRateLimiter(10, 5, c.Now)
	for i := range 1000 {
		if ok, _ := l.allow("ip" + strconv.Itoa(i)); !ok {
			t.Fatal("fresh bucket refused")
		}
	}
	if l.size() != 1000 {
		t.Fatalf("size %d", l.size())
	}
	c.Advance(11 * time.Second)
	l.allow("new")
	if l.size() != 1 {
		t.Fatalf("size %d after idle purge, want 1", l.size())
	}
}
