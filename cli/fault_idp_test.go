package cli_test

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// TestLoginServiceFaultMessages: what "sithseid login" says, in Swedish
// and in English, when the identity service is down, answers garbage, is
// rate limited or fails with 5xx: a sentence for people (never a status
// word or a Go error), the service exit code, and the same link works once
// the service is healthy (the order was not lost).
func TestLoginServiceFaultMessages(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	srv, err := idp.New(idp.Options{RelyingParties: []idp.RelyingParty{{Name: "Journalsystemet Demo", APIKey: rpKey}}})
	if err != nil {
		t.Fatal(err)
	}
	var fault atomic.Pointer[func(w http.ResponseWriter) bool]
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := fault.Load(); f != nil && strings.HasPrefix(r.URL.Path, "/authn/") && (*f)(w) {
			return
		}
		srv.ServeHTTP(w, r)
	}))
	ts.TLS = srv.TLSConfig()
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.PKI().Roots(), ServerName: "127.0.0.1"}}}
	rp, err := oob.NewRPClient(ts.URL, rpKey, hc, oob.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	s := &service{URL: ts.URL, RP: rp, IDP: srv}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "https://" + l.Addr().String()
	l.Close()

	status := func(code int, retryAfter, body string) func(w http.ResponseWriter) bool {
		return func(w http.ResponseWriter) bool {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, body)
			return true
		}
	}
	cases := []struct {
		name   string
		url    string
		fault  func(w http.ResponseWriter) bool
		sv, en []string
	}{
		{"down", downURL, nil,
			[]string{"Kunde inte nå servern: connection refused", "Kontrollera nätverksanslutningen."},
			[]string{"Could not reach the server: connection refused", "Check the network connection."}},
		{"garbage", ts.URL, func(w http.ResponseWriter) bool {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>proxy error</html>")
			return true
		}, []string{"Identitetstjänsten svarade något som inte går att läsa.", "sithseid diag"},
			[]string{"The identity service answered something unreadable.", "sithseid diag"}},
		{"429", ts.URL, status(429, "3600", `{"errorCode":"tooManyRequests","details":"slow down"}`),
			[]string{"Identitetstjänsten är upptagen.", "Vänta en stund och försök igen."},
			[]string{"The identity service is busy.", "Wait a moment and try again."}},
		{"503", ts.URL, status(503, "3600", `{"errorCode":"maintenance","details":"down for maintenance"}`),
			[]string{"Identitetstjänsten fungerar inte just nu.", "Försök igen om en stund."},
			[]string{"The identity service is not working right now.", "Try again in a while."}},
		{"500", ts.URL, status(500, "", `{"errorCode":"internalError","details":"boom"}`),
			[]string{"Identitetstjänsten fungerar inte just nu.", "Försök igen om en stund."},
			[]string{"The identity service is not working right now.", "Try again in a while."}},
		{"502-bare", ts.URL, status(502, "", ""),
			[]string{"Identitetstjänsten fungerar inte just nu."},
			[]string{"The identity service is not working right now."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := s.order(t, "Logga in")
			link := oob.AutoStartURL(o.AutoStartToken, "")
			if tc.fault != nil {
				fault.Store(&tc.fault)
			}
			for lang, want := range map[string][]string{"sv_SE.UTF-8": tc.sv, "en_US.UTF-8": tc.en} {
				r := sithseid(t, lang, "123456\n", "login", link, "--pin-stdin", "--env", "DEMO", "--service", tc.url)
				wantCode(t, r, cli.ExitService)
				for _, w := range want {
					wantIn(t, r.stderr, w)
				}
				for _, raw := range []string{"HTTP 5", "errorCode", "internalError", "maintenance", "Post \"", "dial tcp", "127.0.0.1", "0x", "panic", "goroutine"} {
					if strings.Contains(r.stderr, raw) {
						t.Errorf("%s: raw detail %q shown to the user:\n%s", lang, raw, r.stderr)
					}
				}
				t.Logf("%s %s: %s", tc.name, lang, strings.TrimSpace(r.stderr))
			}
			fault.Store(nil)
			wantCode(t, s.login(t, "123456\n", link), 0)
			if c := s.collect(t, o); c.Status != oob.StatusComplete {
				t.Fatalf("the order after recovery: %+v", c)
			}
		})
	}
}
