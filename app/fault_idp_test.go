package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// faultyIDP is the reference identity service behind a front that
// misbehaves on the authenticator API (/authn/…) as told, while the
// relying-party API (the test's own orders and collects) works. The front
// serves the service's own TLS certificate, so the DEMO trust anchors
// still apply.
type faultyIDP struct {
	URL string
	RP  *oob.RPClient

	mu    sync.Mutex
	fault func(w http.ResponseWriter, r *http.Request) bool // true = answered
	hits  map[string][]time.Time                            // authenticator requests by path
	// closing ends hanging handlers before the server closes.
	closing chan struct{}
}

func startFaultyIDP(t testing.TB) *faultyIDP { return startFaultyIDPWith(t, idp.Options{}) }

// startFaultyIDPWith is startFaultyIDP with options for the service (the
// relying party is added).
func startFaultyIDPWith(t testing.TB, opts idp.Options) *faultyIDP {
	t.Helper()
	opts.RelyingParties = append(opts.RelyingParties, idp.RelyingParty{Name: "Journalsystemet Demo", APIKey: rpKey})
	srv, err := idp.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyIDP{hits: map[string][]time.Time{}, closing: make(chan struct{})}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/authn/") {
			f.mu.Lock()
			f.hits[r.URL.Path] = append(f.hits[r.URL.Path], time.Now())
			fault := f.fault
			f.mu.Unlock()
			if fault != nil && fault(w, r) {
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	ts.TLS = srv.TLSConfig()
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(f.closing) }) // runs first
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.PKI().Roots(), ServerName: "127.0.0.1"}}}
	f.RP, err = oob.NewRPClient(ts.URL, rpKey, hc, oob.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	f.URL = ts.URL
	return f
}

// set installs a fault (nil: none); a fault also forgets the hits.
func (f *faultyIDP) set(fault func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.fault = fault
	if fault != nil {
		f.hits = map[string][]time.Time{}
	}
	f.mu.Unlock()
}

func (f *faultyIDP) hitsOf(path string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.hits[path]...)
}

// Faults the front can play, on one path ("" = every authenticator path).
func failTimes(path string, n int, status int, retryAfter string) func(http.ResponseWriter, *http.Request) bool {
	var mu sync.Mutex
	left := n
	return func(w http.ResponseWriter, r *http.Request) bool {
		if path != "" && r.URL.Path != path {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if left == 0 {
			return false
		}
		if left > 0 {
			left--
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"errorCode":"`+map[int]string{429: "tooManyRequests", 503: "maintenance"}[status]+`","details":"fault injected by the test"}`)
		return true
	}
}

func garbage(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, "<html><body>502 Bad Gateway (from a proxy that is not the service)</body></html>")
	return true
}

func slow(d time.Duration) func(http.ResponseWriter, *http.Request) bool {
	return func(http.ResponseWriter, *http.Request) bool { time.Sleep(d); return false }
}

func (f *faultyIDP) hang(w http.ResponseWriter, r *http.Request) bool {
	select {
	case <-r.Context().Done():
	case <-f.closing:
	}
	return true
}

// TestFaultIdentityService: the identity service down, slow, hanging,
// answering garbage, 429 and 5xx, on the order lookup and on the
// completion (after the card signed). Each time: the login ends within its
// deadline with a typed error the CLI can phrase (or succeeds, where a
// retry of an idempotent call after a backoff covers the fault); no PIN try
// is spent by a service fault; and once the service is healthy the same
// order completes with the same link (nothing lost), unless the service
// itself answered that the order is gone.
func TestFaultIdentityService(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	svc := newService(t)
	idps := startFaultyIDP(t)
	env := f.env
	env.ServiceURL = idps.URL
	ctx := context.Background()

	// A closed port: the service is down.
	down := env
	{
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down.ServiceURL = "https://" + l.Addr().String()
		l.Close()
	}

	cases := []struct {
		name  string
		env   environment.Environment
		fault func(http.ResponseWriter, *http.Request) bool
		// want is nil when the login must succeed despite the fault.
		want     func(error) bool
		deadline time.Duration
		// check looks at the requests the front saw.
		check func(t *testing.T)
	}{
		{name: "down", env: down, want: func(err error) bool { var ne net.Error; return errors.As(err, &ne) }},
		{name: "slow", env: env, fault: slow(300 * time.Millisecond)},
		{name: "hang", env: env, fault: idps.hang, deadline: time.Second,
			want: func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
		{name: "garbage", env: env, fault: garbage, want: func(err error) bool { return errors.Is(err, oob.ErrMalformedReply) }},
		{name: "429-transient", env: env, fault: failTimes(oob.PathLookup, 2, 429, ""), check: func(t *testing.T) {
			hs := idps.hitsOf(oob.PathLookup)
			if len(hs) < 3 {
				t.Fatalf("lookup tried %d times, want 2 refusals and a success", len(hs))
			}
			// Backoff: 0.5 s, then 1 s (oob.RetryPolicy's defaults).
			if d := hs[1].Sub(hs[0]); d < 500*time.Millisecond {
				t.Errorf("first retry after %v, want at least the 0.5 s backoff", d)
			}
			if d := hs[2].Sub(hs[1]); d < time.Second {
				t.Errorf("second retry after %v, want the doubled backoff", d)
			}
		}},
		{name: "429-long-retry-after", env: env, fault: failTimes(oob.PathLookup, -1, 429, "3600"),
			want: func(err error) bool { return errors.Is(err, oob.ErrRateLimited) },
			check: func(t *testing.T) {
				if n := len(idps.hitsOf(oob.PathLookup)); n != 1 {
					t.Errorf("a one-hour Retry-After was retried: %d lookups", n)
				}
			}},
		{name: "503-transient", env: env, fault: failTimes(oob.PathLookup, 1, 503, "0")},
		{name: "500-lookup", env: env, fault: failTimes(oob.PathLookup, -1, 500, ""),
			want: func(err error) bool { var se *oob.ServiceError; return errors.As(err, &se) && se.Status == 500 },
			check: func(t *testing.T) {
				if n := len(idps.hitsOf(oob.PathLookup)); n != 1 {
					t.Errorf("a 500 was retried (%d lookups): only 429 and 503 are", n)
				}
			}},
		{name: "502-complete", env: env, fault: failTimes(oob.PathComplete, -1, 502, ""),
			want: func(err error) bool { var se *oob.ServiceError; return errors.As(err, &se) && se.Status == 502 },
			check: func(t *testing.T) {
				if n := len(idps.hitsOf(oob.PathComplete)); n != 1 {
					t.Errorf("complete (not idempotent) sent %d times", n)
				}
			}},
		{name: "429-complete", env: env, fault: failTimes(oob.PathComplete, -1, 429, ""),
			want: func(err error) bool { return errors.Is(err, oob.ErrRateLimited) }},
		{name: "garbage-complete", env: env, fault: func(w http.ResponseWriter, r *http.Request) bool {
			return r.URL.Path == oob.PathComplete && garbage(w, r)
		}, want: func(err error) bool { return errors.Is(err, oob.ErrMalformedReply) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := idps.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
			if err != nil {
				t.Fatal(err)
			}
			link := oob.AutoStartURL(o.AutoStartToken, "")
			idps.set(tc.fault)
			deadline := tc.deadline
			if deadline == 0 {
				deadline = 10 * time.Second
			}
			rctx, cancel := context.WithTimeout(ctx, deadline)
			start := time.Now()
			_, err = svc.Login(rctx, app.LoginRequest{Link: link, Env: tc.env, Prompt: pinPrompt(vcard.DefaultPIN)})
			took := time.Since(start)
			cancel()
			idps.set(nil)
			t.Logf("%s: %v after %v", tc.name, err, took.Round(time.Millisecond))
			if took > deadline+2*time.Second {
				t.Errorf("the login ended %v after its deadline", took-deadline)
			}
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("the login did not get past the fault: %v", err)
			case tc.want != nil && (err == nil || !tc.want(err)):
				t.Fatalf("error %v (%T), not the expected kind", err, err)
			}
			if tc.check != nil {
				tc.check(t)
			}
			if p, u := f.card.State.PINRetries(); p != 3 || u != 3 {
				t.Fatalf("a service fault cost a try: PIN %d PUK %d", p, u)
			}
			if err != nil {
				// Recovery: the same order, the same link.
				if _, err := svc.Login(ctx, app.LoginRequest{Link: link, Env: env, Prompt: pinPrompt(vcard.DefaultPIN)}); err != nil {
					t.Fatalf("the same login once the service is healthy: %v", err)
				}
			}
			c, err := idps.RP.Collect(ctx, o.OrderRef)
			if err != nil || c.Status != oob.StatusComplete {
				t.Fatalf("the order after recovery: %+v %v", c, err)
			}
		})
	}
}
