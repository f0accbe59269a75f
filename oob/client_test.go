package oob

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeService is an httptest TLS server standing in for the identity
// service: each test installs handlers per path and counts hits.
type fakeService struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	hits   map[string]int
	key    *ecdsa.PrivateKey // the "card" key of the mTLS client
	cert   tls.Certificate
}

func newFakeService(t *testing.T) *fakeService {
	f := &fakeService{t: t, routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		h := f.routes[r.URL.Path]
		f.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		if h == nil {
			writeErr(w, 404, ErrorCodeNotFound)
			return
		}
		h(w, r)
	}))
	f.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Åsa Öberg", SerialNumber: "SE2321000016-1234"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f.key = key
	f.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return f
}

func (f *fakeService) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[path] = h
}

func (f *fakeService) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeService) mtlsClient() *http.Client {
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{f.cert}
	return &http.Client{Transport: tr}
}

func (f *fakeService) client(retry RetryPolicy) *Client {
	c, err := NewClient(f.srv.URL, f.srv.Client(), retry)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.WithMTLS(f.mtlsClient())
}

func writeJSON(w http.ResponseWriter, status int, m Message) {
	b, err := Encode(m)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeErr(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, &ErrorResponse{ErrorCode: code, Details: "test"})
}

func writeRaw(w http.ResponseWriter, status int, ct, body string) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write([]byte(body))
}

var (
	testChallenge = []byte("0123456789abcdef0123456789abcdef")
	testExpires   = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
)

func lookupOK(t *testing.T, want LookupRequest) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req LookupRequest
		if err := Decode(r.Body, &req); err != nil || req != want {
			t.Errorf("lookup request %+v, %v; want %+v", req, err, want)
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		writeJSON(w, 200, &LookupResponse{
			TransactionID:   uuidA,
			RelyingParty:    RelyingParty{Name: "Journalsystemet Demo"},
			UserVisibleText: "Logga in på Journalsystemet",
			Challenge:       testChallenge,
			ExpiresAt:       testExpires,
		})
	}
}

func TestClientSameDeviceLogin(t *testing.T) {
	f := newFakeService(t)
	c := f.client(RetryPolicy{})
	ctx := context.Background()

	f.handle(PathLookup, lookupOK(t, LookupRequest{AutoStartToken: tok}))
	redirect := "https://journal.example/done"
	f.handle(PathComplete, func(w http.ResponseWriter, r *http.Request) {
		// The real check: a client certificate on the connection, and a
		// signature over ToBeSigned by that certificate's key.
		if len(r.TLS.PeerCertificates) == 0 {
			writeErr(w, 403, ErrorCodeCertificateErr)
			return
		}
		var req CompleteRequest
		if err := Decode(r.Body, &req); err != nil || req.TransactionID != uuidA {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		tbs := ToBeSigned(testChallenge, "Journalsystemet Demo", "Logga in på Journalsystemet")
		if err := VerifyChallenge(r.TLS.PeerCertificates[0].PublicKey, req.SignatureAlgorithm, req.Signature, tbs); err != nil {
			writeErr(w, 403, ErrorCodeBadSignature)
			return
		}
		writeJSON(w, 200, &CompleteResponse{Status: StatusComplete, Redirect: &redirect})
	})

	as, err := ParseAutoStartURL(AutoStartURL(tok, redirect))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.Lookup(ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	if tx.ID != uuidA || tx.RelyingParty.Name != "Journalsystemet Demo" || tx.Text != "Logga in på Journalsystemet" ||
		string(tx.Challenge) != string(testChallenge) || !tx.ExpiresAt.Equal(testExpires) {
		t.Fatalf("transaction %+v", tx)
	}
	alg, sig, err := SignChallenge(f.key, tx.ToBeSigned())
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Complete(ctx, tx, alg, sig)
	if err != nil {
		t.Fatal(err)
	}
	if done.Redirect != redirect {
		t.Errorf("redirect %q", done.Redirect)
	}
	// A signature over another text is refused by the (fake) service.
	other, _ := signWith(f, ToBeSigned(tx.Challenge, tx.RelyingParty.Name, "Betala 10 000 kr"))
	if _, err := c.Complete(ctx, tx, alg, other); !isCode(err, ErrorCodeBadSignature) {
		t.Errorf("wrong text: %v", err)
	}

	// Without a client certificate (the plain client) complete fails: so
	// the test above proves Complete used the mTLS client.
	plain, _ := NewClient(f.srv.URL, f.srv.Client(), RetryPolicy{})
	plainOnly := plain.WithMTLS(f.srv.Client())
	if _, err := plainOnly.Complete(ctx, tx, alg, sig); !isCode(err, ErrorCodeCertificateErr) {
		t.Errorf("complete without client certificate: %v", err)
	}
	// Without one (no card signer yet) it does not try.
	if _, err := plain.Complete(ctx, tx, alg, sig); !errors.Is(err, ErrNoMTLS) {
		t.Errorf("complete without a mutual-TLS client: %v", err)
	}
}

func signWith(f *fakeService, tbs []byte) ([]byte, error) {
	_, sig, err := SignChallenge(f.key, tbs)
	return sig, err
}

func isCode(err error, code string) bool {
	var se *ServiceError
	return errors.As(err, &se) && se.Code == code
}

func TestClientQRAndCancel(t *testing.T) {
	f := newFakeService(t)
	c := f.client(RetryPolicy{})
	ctx := context.Background()
	payload := QRPayload(uuidB, uuidC, 4)
	f.handle(PathQR, func(w http.ResponseWriter, r *http.Request) {
		var req QRRequest
		if err := Decode(r.Body, &req); err != nil || req.AutoStartToken != tok {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		writeJSON(w, 200, &QRResponse{QRCode: payload, ValidFor: 26})
	})
	st, err := c.QR(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if st.Payload != payload || st.Code.QRStartToken != uuidB || st.Code.Time != 4 || st.ValidFor != 26*time.Second {
		t.Fatalf("QR state %+v", st)
	}
	// The phone looks the order up with the scanned code.
	f.handle(PathLookup, lookupOK(t, LookupRequest{QRCode: payload}))
	tx, err := c.Lookup(ctx, st.Code)
	if err != nil {
		t.Fatal(err)
	}
	var gotReason string
	f.handle(PathTransactionCancel, func(w http.ResponseWriter, r *http.Request) {
		var req TransactionCancelRequest
		if err := Decode(r.Body, &req); err != nil {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		gotReason = req.Reason
		writeJSON(w, 200, &EmptyResponse{})
	})
	if err := c.Cancel(ctx, tx, ReasonCardRemoved); err != nil || gotReason != ReasonCardRemoved {
		t.Fatalf("Cancel: %v, reason %q", err, gotReason)
	}
	if err := c.Cancel(ctx, tx, "whatever"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Cancel with a bad reason: %v", err)
	}
	if f.count(PathTransactionCancel) != 1 {
		t.Errorf("a bad cancel reached the service")
	}
	f.handle(PathQR, func(w http.ResponseWriter, r *http.Request) { writeErr(w, 410, ErrorCodeExpired) })
	if _, err := c.QR(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Errorf("QR after the window: %v", err)
	}
}

func TestClientMalformedReplies(t *testing.T) {
	good, _ := Encode(&LookupResponse{TransactionID: uuidA, RelyingParty: RelyingParty{Name: "RP"},
		UserVisibleText: "x", Challenge: testChallenge, ExpiresAt: testExpires})
	cases := []struct {
		name, ct, body string
		tooLarge       bool
	}{
		{"garbage", "application/json", "<html>proxy login</html>", false},
		{"html content type", "text/html", string(good), false},
		{"no content type", "", string(good), false},
		{"latin1 charset", "application/json; charset=iso-8859-1", string(good), false},
		{"unknown field", "application/json", strings.Replace(string(good), "{", `{"orderRef":"`+uuidB+`",`, 1), false},
		{"trailing garbage", "application/json", string(good) + "}", false},
		{"short challenge", "application/json", strings.Replace(string(good), b64(testChallenge), b64(testChallenge[:31]), 1), false},
		{"empty", "application/json", "", false},
		{"oversize", "application/json", string(good) + strings.Repeat(" ", MaxBodySize), true},
	}
	f := newFakeService(t)
	c := f.client(RetryPolicy{})
	for _, tc := range cases {
		f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) { writeRaw(w, 200, tc.ct, tc.body) })
		tx, err := c.Lookup(context.Background(), AutoStart{Token: tok})
		if !errors.Is(err, ErrMalformedReply) || tx != nil {
			t.Errorf("%s: %v, %v; want ErrMalformedReply", tc.name, tx, err)
		}
		if tc.tooLarge && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v; want ErrTooLarge", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("%s: error echoes the token: %v", tc.name, err)
		}
	}
	f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, 200, "application/json; charset=UTF-8", string(good))
	})
	if _, err := c.Lookup(context.Background(), AutoStart{Token: tok}); err != nil {
		t.Errorf("charset=UTF-8: %v", err)
	}
}

func TestClientErrorStatuses(t *testing.T) {
	f := newFakeService(t)
	c := f.client(RetryPolicy{MaxRetries: -1})
	ctx := context.Background()
	cases := []struct {
		status int
		code   string
		body   string // raw body instead of code
		want   error
	}{
		{410, ErrorCodeExpired, "", ErrExpired},
		{410, ErrorCodeNotFound, "", ErrExpired},
		{410, "", "<html>gone</html>", ErrExpired},
		{409, ErrorCodeAlreadyCompleted, "", ErrAlreadyCompleted},
		{429, ErrorCodeTooManyRequests, "", ErrRateLimited},
	}
	for _, tc := range cases {
		f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
			if tc.body != "" {
				writeRaw(w, tc.status, "text/html", tc.body)
				return
			}
			writeErr(w, tc.status, tc.code)
		})
		_, err := c.Lookup(ctx, AutoStart{Token: tok})
		var se *ServiceError
		if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Status != tc.status || se.Code != tc.code {
			t.Errorf("%d %s: %v", tc.status, tc.code, err)
		}
	}
	f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) { writeErr(w, 404, ErrorCodeNotFound) })
	if _, err := c.Lookup(ctx, AutoStart{Token: tok}); errors.Is(err, ErrExpired) || !isCode(err, ErrorCodeNotFound) {
		t.Errorf("404: %v", err)
	}
}

func TestClientRetries(t *testing.T) {
	f := newFakeService(t)
	ctx := context.Background()
	fast := RetryPolicy{MaxRetries: 2, Backoff: 5 * time.Millisecond}

	// Retry-After honoured, then success.
	n := 0
	f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeErr(w, 429, ErrorCodeTooManyRequests)
			return
		}
		lookupOK(t, LookupRequest{AutoStartToken: tok})(w, r)
	})
	start := time.Now()
	if _, err := f.client(fast).Lookup(ctx, AutoStart{Token: tok}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", d)
	}

	// 429 and 503 without Retry-After: bounded retries, then the error.
	for _, status := range []int{429, 503} {
		before := f.count(PathLookup)
		f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) { writeErr(w, status, ErrorCodeMaintenance) })
		_, err := f.client(fast).Lookup(ctx, AutoStart{Token: tok})
		var se *ServiceError
		if !errors.As(err, &se) || se.Status != status {
			t.Errorf("%d: %v", status, err)
		}
		if got := f.count(PathLookup) - before; got != 3 {
			t.Errorf("%d: %d attempts, want 3", status, got)
		}
	}
	if _, err := f.client(fast).Lookup(ctx, AutoStart{Token: tok}); errors.Is(err, ErrRateLimited) {
		t.Errorf("503 matched ErrRateLimited")
	}

	// A Retry-After beyond MaxWait fails at once.
	before := f.count(PathQR)
	f.handle(PathQR, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		writeErr(w, 429, ErrorCodeTooManyRequests)
	})
	_, err := f.client(fast).QR(ctx, tok)
	var se *ServiceError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &se) || se.RetryAfter != time.Hour {
		t.Errorf("long Retry-After: %v", err)
	}
	if f.count(PathQR)-before != 1 {
		t.Errorf("waited out a one-hour Retry-After")
	}

	// 500 is not retried.
	f.handle(PathQR, func(w http.ResponseWriter, r *http.Request) { writeErr(w, 500, ErrorCodeInternalError) })
	before = f.count(PathQR)
	f.client(fast).QR(ctx, tok)
	if f.count(PathQR)-before != 1 {
		t.Errorf("500 was retried")
	}

	// complete is never retried.
	f.handle(PathComplete, func(w http.ResponseWriter, r *http.Request) { writeErr(w, 429, ErrorCodeTooManyRequests) })
	tx := &Transaction{ID: uuidA}
	if _, err := f.client(fast).Complete(ctx, tx, AlgECDSASHA256, []byte{1, 2, 3}); !errors.Is(err, ErrRateLimited) {
		t.Errorf("complete 429: %v", err)
	}
	if f.count(PathComplete) != 1 {
		t.Errorf("complete attempted %d times", f.count(PathComplete))
	}

	// Cancelling the context ends a retry wait.
	f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		writeErr(w, 503, ErrorCodeMaintenance)
	})
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = f.client(RetryPolicy{}).Lookup(cctx, AutoStart{Token: tok})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled retry wait: %v after %v", err, time.Since(start))
	}
}

func TestClientSlowService(t *testing.T) {
	f := newFakeService(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client(RetryPolicy{}).Lookup(ctx, AutoStart{Token: tok})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow service: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %v", d)
	}
}

func TestClientRefusesRedirects(t *testing.T) {
	f := newFakeService(t)
	for _, status := range []int{301, 302, 307, 308} {
		f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, f.srv.URL+"/steal", status)
		})
		_, err := f.client(RetryPolicy{}).Lookup(context.Background(), AutoStart{Token: tok})
		if !errors.Is(err, ErrRedirect) {
			t.Errorf("%d: %v, want ErrRedirect", status, err)
		}
	}
	if n := f.count("/steal"); n != 0 {
		t.Errorf("redirect followed %d times", n)
	}
	// Also through the mTLS client the caller built.
	f.handle(PathComplete, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/steal", 307) })
	if _, err := f.client(RetryPolicy{}).Complete(context.Background(), &Transaction{ID: uuidA}, AlgECDSASHA256, []byte{1}); !errors.Is(err, ErrRedirect) {
		t.Errorf("complete redirect: %v", err)
	}
	if n := f.count("/steal"); n != 0 {
		t.Errorf("redirect followed %d times", n)
	}
}

func TestClientUntrustedServer(t *testing.T) {
	f := newFakeService(t)
	f.handle(PathLookup, lookupOK(t, LookupRequest{AutoStartToken: tok}))
	// A client with the system roots (not the pinned test root) refuses the
	// server, as it would a TLS-inspecting proxy.
	c, _ := NewClient(f.srv.URL, &http.Client{}, RetryPolicy{})
	_, err := c.Lookup(context.Background(), AutoStart{Token: tok})
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Errorf("untrusted server: %v", err)
	}
	if f.count(PathLookup) != 0 {
		t.Errorf("request reached an untrusted server")
	}
}

func TestNewClientBaseURL(t *testing.T) {
	for _, u := range []string{"http://idp.example", "idp.example", "https://", "https://u:p@idp.example", "https://idp.example/?x=1", "https://idp.example/#f"} {
		if _, err := NewClient(u, nil, RetryPolicy{}); err == nil {
			t.Errorf("NewClient(%q) accepted", u)
		}
		if _, err := NewRPClient(u, "key", nil, RetryPolicy{}); err == nil {
			t.Errorf("NewRPClient(%q) accepted", u)
		}
	}
	if _, err := NewRPClient("https://idp.example", "", nil, RetryPolicy{}); err == nil {
		t.Error("NewRPClient accepted an empty key")
	}
}

func TestRPClient(t *testing.T) {
	f := newFakeService(t)
	const apiKey = "rp-test-key-0001"
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+apiKey {
				writeErr(w, 401, ErrorCodeUnauthorized)
				return
			}
			h(w, r)
		}
	}
	f.handle(PathAuth, authed(func(w http.ResponseWriter, r *http.Request) {
		var req AuthRequest
		if err := Decode(r.Body, &req); err != nil || string(req.UserVisibleData) != "Logga in\npå Demo" || req.EndUserIP != "192.0.2.9" {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		writeJSON(w, 200, &AuthResponse{OrderRef: uuidA, AutoStartToken: uuidB, QRStartToken: uuidC, QRStartSecret: uuidD})
	}))
	polls := 0
	f.handle(PathCollect, authed(func(w http.ResponseWriter, r *http.Request) {
		var req CollectRequest
		if err := Decode(r.Body, &req); err != nil {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		polls++
		if polls < 3 {
			writeJSON(w, 200, &CollectResponse{OrderRef: req.OrderRef, Status: StatusPending, HintCode: HintStarted})
			return
		}
		writeJSON(w, 200, &CollectResponse{OrderRef: req.OrderRef, Status: StatusComplete, CompletionData: &CompletionData{
			User:      CompletionUser{HSAID: "SE2321000016-1234", Name: "Åsa Öberg", GivenName: "Åsa", Surname: "Öberg"},
			Device:    CompletionDevice{IPAddress: "192.0.2.9"},
			Cert:      CompletionCert{NotBefore: "1700000000000", NotAfter: "1800000000000"},
			Signature: []byte{1}, OCSPResponse: []byte{2},
		}})
	}))
	f.handle(PathCancel, authed(func(w http.ResponseWriter, r *http.Request) {
		var req CancelRequest
		if err := Decode(r.Body, &req); err != nil {
			writeErr(w, 400, ErrorCodeInvalidParameters)
			return
		}
		writeJSON(w, 200, &EmptyResponse{})
	}))
	ctx := context.Background()
	rp, err := NewRPClient(f.srv.URL, apiKey, f.srv.Client(), RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	order, err := rp.Auth(ctx, "192.0.2.9", "Logga in\npå Demo", "")
	if err != nil {
		t.Fatal(err)
	}
	if order.OrderRef != uuidA || order.AutoStartURL("") != "sithseid:///?autostarttoken="+uuidB+"&redirect=null" {
		t.Fatalf("order %+v", order)
	}
	if p := order.QRPayloadAt(3500 * time.Millisecond); p != QRPayload(uuidC, uuidD, 3) {
		t.Errorf("QRPayloadAt = %q", p)
	}
	res, err := rp.CollectUntilDone(ctx, order.OrderRef, 10*time.Millisecond)
	if err != nil || res.Status != StatusComplete || res.CompletionData.User.HSAID != "SE2321000016-1234" || polls != 3 {
		t.Fatalf("CollectUntilDone = %+v, %v after %d polls", res, err, polls)
	}
	if !res.CompletionData.Cert.NotAfterTime().Equal(time.UnixMilli(1800000000000)) {
		t.Errorf("NotAfterTime %v", res.CompletionData.Cert.NotAfterTime())
	}
	if err := rp.Cancel(ctx, order.OrderRef); err != nil {
		t.Fatal(err)
	}
	// A collect reply about another order is refused.
	f.handle(PathCollect, authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, &CollectResponse{OrderRef: uuidB, Status: StatusPending, HintCode: HintStarted})
	}))
	if _, err := rp.Collect(ctx, uuidA); !errors.Is(err, ErrMalformedReply) {
		t.Errorf("collect for another order: %v", err)
	}
	// A wrong key is unauthorized; the key never appears in the error.
	bad, _ := NewRPClient(f.srv.URL, "wrong-key-xyz", f.srv.Client(), RetryPolicy{})
	_, err = bad.Auth(ctx, "192.0.2.9", "Logga in", "")
	if !isCode(err, ErrorCodeUnauthorized) || strings.Contains(err.Error(), "wrong-key-xyz") {
		t.Errorf("wrong key: %v", err)
	}
	// auth is never retried (a retry would start a second order).
	before := f.count(PathAuth)
	f.handle(PathAuth, func(w http.ResponseWriter, r *http.Request) { writeErr(w, 503, ErrorCodeMaintenance) })
	rp.Auth(ctx, "192.0.2.9", "Logga in", "")
	if f.count(PathAuth)-before != 1 {
		t.Errorf("auth was retried")
	}
	// Invalid requests never leave the client.
	if _, err := rp.Auth(ctx, "not-an-ip", "Logga in", ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad endUserIp: %v", err)
	}
	if f.count(PathAuth)-before != 1 {
		t.Errorf("an invalid auth request was sent")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"1.5":                           0,
		"9999999":                       0,
		"Sun, 22 Nov 2026 08:00:30 GMT": 30 * time.Second,
		"Sun, 22 Nov 2026 07:59:00 GMT": 0,
		"soon":                          0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClientConcurrentUse(t *testing.T) {
	f := newFakeService(t)
	f.handle(PathLookup, lookupOK(t, LookupRequest{AutoStartToken: tok}))
	c := f.client(RetryPolicy{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Lookup(context.Background(), AutoStart{Token: tok})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.count(PathLookup); n != 16 {
		t.Errorf("%d lookups reached the service, want 16", n)
	}
}

// The lookup's origin reaches the Transaction as sent; a refusal for
// another address is ErrEndUserIPMismatch, not retried, and no other
// sentinel.
func TestClientLookupOrigin(t *testing.T) {
	f := newFakeService(t)
	c := f.client(RetryPolicy{})
	ctx := context.Background()
	calls := 0
	refuse := false
	f.handle(PathLookup, func(w http.ResponseWriter, r *http.Request) {
		calls++
		if refuse {
			writeErr(w, 403, ErrorCodeEndUserIPMismatch)
			return
		}
		writeJSON(w, 200, &LookupResponse{
			TransactionID: uuidA, RelyingParty: RelyingParty{Name: "RP"}, UserVisibleText: "Text",
			Challenge: testChallenge, ExpiresAt: testExpires,
			Origin: &Origin{EndUserIP: "192.0.2.7", EndUserIPMatch: false},
		})
	})
	tx, err := c.Lookup(ctx, AutoStart{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Origin == nil || *tx.Origin != (Origin{EndUserIP: "192.0.2.7"}) {
		t.Fatalf("origin %+v", tx.Origin)
	}
	refuse, calls = true, 0
	_, err = c.Lookup(ctx, AutoStart{Token: tok})
	if !errors.Is(err, ErrEndUserIPMismatch) || errors.Is(err, ErrExpired) || errors.Is(err, ErrRateLimited) || calls != 1 {
		t.Fatalf("refused lookup: %v after %d calls, want ErrEndUserIPMismatch after 1", err, calls)
	}
	if errors.Is(&ServiceError{Status: 403, Code: ErrorCodeCertificateErr}, ErrEndUserIPMismatch) {
		t.Fatal("certificateErr matches ErrEndUserIPMismatch")
	}
}
