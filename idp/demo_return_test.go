package idp

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sithseid/sithseid/oob"
)

// The demo page's return URL comes from configuration (PublicURL), never
// from the request's Host header: a forged Host changes nothing, and
// without PublicURL the order has no return URL at all. A PublicURL the
// return-URL rules refuse is refused at start.
func TestDemoReturnURLFromConfiguration(t *testing.T) {
	start := func(f *fixture, host string) (order, redirect string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.ts.URL+"/demo/start", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := f.plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r demoStartReply
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		as, err := oob.ParseAutoStartURL(r.AutoStartURL)
		if err != nil {
			t.Fatalf("autostart URL %q: %v", r.AutoStartURL, err)
		}
		return r.Order, as.Redirect
	}

	f := newFixture(t, func(o *Options) { o.PublicURL = "https://demo.region.se:8443/" })
	order, redirect := start(f, "attacker.example")
	if want := "https://demo.region.se:8443/?order=" + order; redirect != want {
		t.Errorf("with PublicURL and Host attacker.example: return URL %q, want %q", redirect, want)
	}

	f = newFixture(t, nil)
	if _, redirect := start(f, "attacker.example"); redirect != "" {
		t.Errorf("without PublicURL: return URL %q from the Host header, want none", redirect)
	}

	for _, bad := range []string{"javascript:alert(1)", "http://demo.region.se", "https://demo.region.se/#x"} {
		if _, err := New(Options{PublicURL: bad}); err == nil {
			t.Errorf("PublicURL %q accepted", bad)
		}
	}
}
