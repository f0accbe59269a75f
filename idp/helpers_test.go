package idp

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

const testRPKey = "test-rp-key-0123456789abcdef"
const testRPName = "Journalsystemet Test"

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a Server behind a real TLS listener (httptest) with a test
// PKI, a card and an injected clock.
type fixture struct {
	t     testing.TB
	clock *clock
	pki   *testpki.PKI
	srv   *Server
	ts    *httptest.Server
	card  *testpki.Card
	plain *http.Client // server-authenticated TLS, no client certificate
	// tlsMax caps the TLS version of clients made afterwards (0: 1.3).
	tlsMax uint16
	mu     sync.Mutex
	// lastTLSVersion is the TLS version of the last reply.
	lastTLSVersion uint16
}

var (
	pkiOnce sync.Once
	pkiVal  *testpki.PKI
	cardVal *testpki.Card
	pkiErr  error
)

// sharedPKI builds the PKI and the default card once per test binary: RSA
// key derivation costs a second or so.
func sharedPKI(t testing.TB) (*testpki.PKI, *testpki.Card) {
	t.Helper()
	pkiOnce.Do(func() {
		pkiVal, pkiErr = testpki.New(testpki.Options{Seed: "idp-test", Now: time.Now()})
		if pkiErr == nil {
			cardVal, pkiErr = pkiVal.IssueCard(testpki.CardSpec{})
		}
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal, cardVal
}

func newFixture(t testing.TB, adjust func(*Options)) *fixture {
	t.Helper()
	pki, card := sharedPKI(t)
	f := &fixture{t: t, clock: &clock{t: time.Now()}, pki: pki, card: card}
	opts := Options{
		PKI:            pki,
		Now:            f.clock.Now,
		RelyingParties: []RelyingParty{{Name: testRPName, OrgID: "2321000016", APIKey: testRPKey}},
		RPRate:         -1,
		IPRate:         -1,
	}
	if adjust != nil {
		adjust(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewUnstartedServer(srv)
	f.ts.TLS = srv.TLSConfig()
	f.ts.StartTLS()
	t.Cleanup(f.ts.Close)
	f.plain = f.client(nil)
	return f
}

// client returns an HTTPS client that trusts the test root and, when cred
// is not nil, always presents it as client certificate (even when the
// server's acceptable CAs do not name its issuer: the service must refuse
// such a certificate itself).
func (f *fixture) client(cred *testpki.Credential) *http.Client {
	cfg := &tls.Config{RootCAs: f.pki.Roots(), MinVersion: tls.VersionTLS12, MaxVersion: f.tlsMax}
	if cred != nil {
		tc := cred.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tc, nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	f.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// post sends body (a value to marshal, or raw []byte) with JSON content type.
func (f *fixture) post(c *http.Client, path string, body any, header map[string]string) reply {
	f.t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			f.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, f.ts.URL+path, bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.TLS != nil {
		f.mu.Lock()
		f.lastTLSVersion = resp.TLS.Version
		f.mu.Unlock()
	}
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, rb}
}

func (f *fixture) rp(path string, body any) reply {
	f.t.Helper()
	return f.post(f.plain, path, body, map[string]string{"Authorization": "Bearer " + testRPKey})
}

// decodeReply checks status and decodes the body strictly (as the oob
// clients do) into m.
func (f *fixture) decodeReply(r reply, status int, m oob.Message) {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("HTTP %d, want %d: %s", r.status, status, r.body)
	}
	if err := oob.DecodeBytes(r.body, m); err != nil {
		f.t.Fatalf("reply %s: %v", r.body, err)
	}
}

// wantError checks an error reply's status and code, and that details
// contains detail.
func (f *fixture) wantError(r reply, status int, code, detail string) {
	f.t.Helper()
	var e oob.ErrorResponse
	f.decodeReply(r, status, &e)
	if e.ErrorCode != code || !strings.Contains(e.Details, detail) {
		f.t.Fatalf("error %q (%q), want %q containing %q", e.ErrorCode, e.Details, code, detail)
	}
}

func (f *fixture) auth(text, returnURL string) oob.AuthResponse {
	f.t.Helper()
	var a oob.AuthResponse
	req := map[string]string{
		"endUserIp":       "192.0.2.7",
		"userVisibleData": base64.StdEncoding.EncodeToString([]byte(text)),
	}
	if returnURL != "" {
		req["returnUrl"] = returnURL
	}
	f.decodeReply(f.rp(oob.PathAuth, req), http.StatusOK, &a)
	return a
}

func (f *fixture) collect(orderRef string) oob.CollectResponse {
	f.t.Helper()
	var c oob.CollectResponse
	f.decodeReply(f.rp(oob.PathCollect, map[string]string{"orderRef": orderRef}), http.StatusOK, &c)
	return c
}

func (f *fixture) wantState(orderRef, status, hint string) oob.CollectResponse {
	f.t.Helper()
	c := f.collect(orderRef)
	if c.Status != status || c.HintCode != hint {
		f.t.Fatalf("collect: %s/%s, want %s/%s", c.Status, c.HintCode, status, hint)
	}
	return c
}

func (f *fixture) lookup(token string) oob.LookupResponse {
	f.t.Helper()
	var l oob.LookupResponse
	f.decodeReply(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": token}, nil), http.StatusOK, &l)
	return l
}

// sign signs the lookup's challenge as the app does.
func sign(t testing.TB, key crypto.Signer, l oob.LookupResponse) (string, []byte) {
	t.Helper()
	alg, sig, err := oob.SignChallenge(key, oob.ToBeSigned(l.Challenge, l.RelyingParty.Name, l.UserVisibleText))
	if err != nil {
		t.Fatal(err)
	}
	return alg, sig
}

func (f *fixture) complete(cred *testpki.Credential, txID, alg string, sig []byte) reply {
	f.t.Helper()
	return f.post(f.client(cred), oob.PathComplete, map[string]string{
		"transactionId":      txID,
		"signatureAlgorithm": alg,
		"signature":          base64.StdEncoding.EncodeToString(sig),
	}, nil)
}

// pssSigner makes an RSA key say it can do PSS, so oob.SignChallenge picks
// rsa-pss-sha256.
type pssSigner struct{ crypto.Signer }

func (pssSigner) SupportsPSS() bool { return true }

func cardSpecP256() testpki.CardSpec {
	return testpki.CardSpec{HSAID: "SE2321000016-5678", GivenName: "Erik", Surname: "Ek", Key: testpki.P256}
}
