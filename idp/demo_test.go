package idp

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/oob"
)

func (f *fixture) get(path string) (int, http.Header, []byte) {
	f.t.Helper()
	resp, err := f.plain.Get(f.ts.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// zbarDecode decodes a QR image with zbarimg (zbar-tools), an independent
// decoder.
func zbarDecode(t *testing.T, png []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(p, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", p).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// The demo page: an order for the built-in relying party, its animated QR
// (decoded by zbarimg and accepted by lookup), the autostart link, and the
// result with the HSA-ID after a completion.
func TestDemoPage(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PublicURL = "https://127.0.0.1:8443" })
	code, h, page := f.get("/")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, h.Get("Content-Type"))
	}
	for _, want := range []string{`id="status"`, `id="hsaid"`, `id="autostart-link"`, `id="qr"`,
		"Öppna SITHS eID på den här enheten", "Open SITHS eID on this device", DemoRelyingPartyName} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Error("page refers to external assets")
	}

	resp, err := f.plain.Post(f.ts.URL+"/demo/start", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var start demoStartReply
	if err := json.NewDecoder(resp.Body).Decode(&start); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	as, err := oob.ParseAutoStartURL(start.AutoStartURL)
	if err != nil {
		t.Fatalf("autostart URL %v", err)
	}
	if as.Redirect != "https://127.0.0.1:8443/?order="+start.Order {
		t.Fatalf("redirect %q", as.Redirect)
	}
	if strings.Contains(string(mustJSON(t, start)), testRPKey) {
		t.Fatal("RP key reaches the browser")
	}

	collect := func() demoCollectReply {
		t.Helper()
		code, _, b := f.get("/demo/collect?order=" + start.Order)
		if code != http.StatusOK {
			t.Fatalf("demo collect: %d %s", code, b)
		}
		var c demoCollectReply
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := collect(); c.Status != oob.StatusPending || c.HintCode != oob.HintOutstandingTransaction || c.AutoStartURL != start.AutoStartURL {
		t.Fatalf("demo collect %+v", c)
	}

	// The QR image shows the current payload; the phone's lookup takes it.
	f.clock.Advance(3 * time.Second)
	code, h, png := f.get("/demo/qr.png?order=" + start.Order)
	if code != http.StatusOK || h.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", code, h.Get("Content-Type"))
	}
	payload := zbarDecode(t, png)
	q, err := oob.ParseQRPayload(payload)
	if err != nil || q.Time != 3 {
		t.Fatalf("QR payload %q: %v", payload, err)
	}
	var l oob.LookupResponse
	f.decodeReply(f.qrLookup(payload), http.StatusOK, &l)
	if l.RelyingParty.Name != DemoRelyingPartyName || l.UserVisibleText != demoText {
		t.Fatalf("lookup %+v", l)
	}
	if c := collect(); c.HintCode != oob.HintStarted {
		t.Fatalf("demo collect %+v", c)
	}
	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	var cr oob.CompleteResponse
	f.decodeReply(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusOK, &cr)
	if cr.Redirect == nil || *cr.Redirect != as.Redirect {
		t.Fatalf("complete redirect %v", cr.Redirect)
	}
	if c := collect(); c.Status != oob.StatusComplete || c.HSAID != "SE2321000016-1234" || c.Name != "Anna Svensson" {
		t.Fatalf("demo collect %+v", c)
	}
	if code, _, _ := f.get("/demo/qr.png?order=" + start.Order); code != http.StatusGone {
		t.Fatalf("qr.png of a completed order: %d", code)
	}
	if code, _, _ := f.get("/demo/collect?order=" + oob.NewUUID()); code != http.StatusNotFound {
		t.Fatalf("unknown demo order: %d", code)
	}

	// The QR image ends with the 30 s window; cancel fails the order.
	resp, _ = f.plain.Post(f.ts.URL+"/demo/start", "", nil)
	json.NewDecoder(resp.Body).Decode(&start)
	resp.Body.Close()
	f.clock.Advance(31 * time.Second)
	if code, _, _ := f.get("/demo/qr.png?order=" + start.Order); code != http.StatusGone {
		t.Fatalf("qr.png after 31 s: %d", code)
	}
	resp, _ = f.plain.Post(f.ts.URL+"/demo/cancel?order="+start.Order, "", nil)
	resp.Body.Close()
	if c := collect(); c.Status != oob.StatusFailed || c.HintCode != oob.HintUserCancel {
		t.Fatalf("after cancel %+v", c)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
