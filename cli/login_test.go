package cli_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/nginxtest"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

const rpKey = "cli-test-relying-party-key-0123456789"

// clock is the identity service's time, moved by tests.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type service struct {
	URL string
	RP  *oob.RPClient
	IDP *idp.Server
	Clk *clock
}

// startIDP runs the reference identity service with the default test PKI,
// whose root is the DEMO environment's trust anchor: the CLI trusts it as it
// would in "make demo", with nothing added.
func startIDP(t *testing.T) *service { return startIDPSeed(t, "") }

// startIDPSeed runs it with the test PKI of seed ("" = the default).
func startIDPSeed(t *testing.T, seed string) *service {
	t.Helper()
	clk := &clock{}
	srv, err := idp.New(idp.Options{
		Seed:           seed,
		RelyingParties: []idp.RelyingParty{{Name: "Journalsystemet Demo", APIKey: rpKey}},
		Now:            clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = srv.TLSConfig()
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	ts.StartTLS()
	t.Cleanup(ts.Close)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.PKI().Roots(), ServerName: "127.0.0.1"}}}
	rp, err := oob.NewRPClient(ts.URL, rpKey, hc, oob.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	return &service{URL: ts.URL, RP: rp, IDP: srv, Clk: clk}
}

func (s *service) order(t *testing.T, text string) *oob.AuthResponse {
	t.Helper()
	o, err := s.RP.Auth(context.Background(), "127.0.0.1", text, "")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (s *service) collect(t *testing.T, o *oob.AuthResponse) *oob.CollectResponse {
	t.Helper()
	c, err := s.RP.Collect(context.Background(), o.OrderRef)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *service) login(t *testing.T, stdin, link string, extra ...string) result {
	t.Helper()
	args := append([]string{"login", link, "--pin-stdin", "--env", "DEMO", "--service", s.URL}, extra...)
	return sv(t, stdin, args...)
}

// A whole out-of-band login on every kind of card: who asks and what for,
// the PIN, the order complete with the card's HSA-ID, a replay refused.
func TestLoginEndToEnd(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
		s := startIDP(t)
		o := s.order(t, "Logga in i journalen på Avdelning 12")
		link := oob.AutoStartURL(o.AutoStartToken, "")
		signed := card.Server.Stats().Signatures
		r := s.login(t, "123456\n", link, k.Args()...)
		wantCode(t, r, 0)
		// Who asks and what for, before the PIN.
		wantIn(t, r.stderr, "Journalsystemet Demo vill att du loggar in")
		wantIn(t, r.stderr, "Avdelning 12")
		wantIn(t, r.stdout, "Inloggad hos Journalsystemet Demo som "+testpki.DefaultHSAID)
		c := s.collect(t, o)
		if c.Status != oob.StatusComplete || c.CompletionData == nil || c.CompletionData.User.HSAID != testpki.DefaultHSAID {
			t.Fatalf("collect: %+v", c)
		}
		if card.Server.Stats().Signatures == signed {
			t.Fatal("logged in without a signature by the card")
		}

		// The token is spent: a replay is refused.
		r = s.login(t, "123456\n", link, k.Args()...)
		wantCode(t, r, cli.ExitLoginCanceled)
		wantIn(t, r.stderr, "gått ut eller är redan använd")
	})
}

func TestLoginWrongPINLeavesOrderPending(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		card := k.Insert(t, 0, testpki.CardSpec{Key: keyOr(k, testpki.P256)}, vcard.RunOptions{})
		s := startIDP(t)
		o := s.order(t, "Logga in")
		link := oob.AutoStartURL(o.AutoStartToken, "")
		r := s.login(t, "654321\n", link, k.Args()...)
		wantCode(t, r, cli.ExitWrongPIN)
		wantIn(t, r.stderr, "2 försök kvar")
		if c := s.collect(t, o); c.Status != oob.StatusPending {
			t.Fatalf("after a wrong PIN: %+v", c)
		}
		if pin, _ := card.State.PINRetries(); pin != 2 {
			t.Fatalf("the card has %d PIN tries left after one wrong", pin)
		}
		// The prompt showed tries left before the next attempt.
		r = sithseid(t, "en_US.UTF-8", "123456\n", append([]string{"login", link, "--pin-stdin", "--env", "DEMO", "--service", s.URL}, k.Args()...)...)
		wantCode(t, r, 0)
		if c := s.collect(t, o); c.Status != oob.StatusComplete {
			t.Fatalf("after the right PIN: %+v", c)
		}
	})
}

func TestLoginBadLinksAndEnvironments(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	s := startIDP(t)
	for _, link := range []string{
		"sithseid:///?autostarttoken=not-a-uuid&redirect=null",
		"https://evil.example/?autostarttoken=3f9d0e6a-0b0e-4f7e-9d7c-0a9a2d1d3e4f",
		"sithseid://evil.example/?autostarttoken=3f9d0e6a-0b0e-4f7e-9d7c-0a9a2d1d3e4f&redirect=null",
		"sithseid:///?autostarttoken=3f9d0e6a-0b0e-4f7e-9d7c-0a9a2d1d3e4f&redirect=javascript:alert(1)",
	} {
		r := s.login(t, "123456\n", link)
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "inte en inloggningslänk")
	}
	// An unknown but well-formed token.
	r := s.login(t, "123456\n", oob.AutoStartURL("3f9d0e6a-0b0e-4f7e-9d7c-0a9a2d1d3e4f", ""))
	if r.code == 0 {
		t.Fatalf("unknown token logged in: %s", r)
	}
	// PROD has no endpoints in this build: a clear message, no network.
	o := s.order(t, "Logga in")
	r = sv(t, "123456\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin", "--env", "PROD")
	wantCode(t, r, cli.ExitService)
	wantIn(t, r.stderr, "PROD är inte inställd")
	// A service whose certificate is not from the environment's PKI (a
	// TLS-inspecting proxy in front of it, say) is refused before the PIN.
	other := startIDPSeed(t, "not-the-demo-pki")
	o2, err := other.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	r = sv(t, "123456\n", "login", oob.AutoStartURL(o2.AutoStartToken, ""), "--pin-stdin", "--env", "DEMO", "--service", other.URL)
	wantCode(t, r, cli.ExitUntrusted)
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("PIN tried against an untrusted service: %+v", c.PIN)
	}
}

// Handing an order over to the phone: the QR the app renders decodes with
// zbarimg to a payload the service accepts within 30 s and refuses after.
// The "phone" here is the same CLI with the card, looking the order up by
// the scanned code instead of the autostart token.
func TestQRHandover(t *testing.T) {
	if _, err := exec.LookPath("zbarimg"); err != nil {
		testenv.Missing(t, "zbarimg not installed (scripts/setup installs zbar-tools)")
	}
	insert(t, 0, testpki.CardSpec{})
	s := startIDP(t)
	scan := func(o *oob.AuthResponse) string {
		t.Helper()
		png := filepath.Join(t.TempDir(), "qr.png")
		r := sv(t, "", "qr", oob.AutoStartURL(o.AutoStartToken, ""), "--out", png, "--env", "DEMO", "--service", s.URL)
		wantCode(t, r, 0)
		out, err := exec.Command("zbarimg", "--quiet", "--raw", png).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		payload := strings.TrimSpace(string(out))
		if !strings.HasPrefix(payload, "sithseid."+o.QRStartToken+".") {
			t.Fatalf("decoded %q", payload)
		}
		return payload
	}

	o := s.order(t, "Mobil-inloggning")
	payload := scan(o)
	s.Clk.Advance(2 * time.Second) // scanned a moment later
	r := s.login(t, "123456\n", payload)
	wantCode(t, r, 0)
	if c := s.collect(t, o); c.Status != oob.StatusComplete {
		t.Fatalf("collect: %+v", c)
	}

	// 31 s into the order, the window is closed: a fresh code is refused.
	o = s.order(t, "Logga in")
	s.Clk.Advance(31 * time.Second)
	h := sv(t, "", "qr", oob.AutoStartURL(o.AutoStartToken, ""), "--out", filepath.Join(t.TempDir(), "late.png"), "--env", "DEMO", "--service", s.URL)
	if h.code == 0 {
		// The service may still render a code; the phone must be refused.
		t.Log("QR rendered after 31 s; checking the lookup is refused")
	}
	o = s.order(t, "Logga in")
	payload = scan(o)
	s.Clk.Advance(31 * time.Second)
	r = s.login(t, "123456\n", payload)
	wantCode(t, r, cli.ExitLoginCanceled)
	if c := s.collect(t, o); c.Status == oob.StatusComplete {
		t.Fatalf("a 31 s old QR code completed the order: %+v", c)
	}
}

// tls-check against real nginx with ssl_verify_client on, with the login
// key of every kind of card (RSA, and ECC where the card holds it) over TLS
// 1.3 and 1.2; an untrusted server is refused clearly, before any PIN. An
// RSA key in TLS 1.3 signs with RSA-PSS (RFC 8446 §4.2.3; mtls caps a key
// without PSS at TLS 1.2), so "TLS 1.3" with RSA is PSS on the card.
func TestTLSCheckNginx(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			testenv.Missing(t, "nginx not installed (scripts/setup installs it)")
		}
	}
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ngx := nginxtest.Start(t, nginxtest.PKIOptions(t, pki))
	// A server certificate from another PKI.
	other, err := testpki.New(testpki.Options{Seed: "inspecting-proxy"})
	if err != nil {
		t.Fatal(err)
	}
	bad := nginxtest.Start(t, nginxtest.PKIOptions(t, other))
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		for _, key := range k.Keys {
			t.Run(string(key), func(t *testing.T) {
				card := k.Insert(t, 0, testpki.CardSpec{Key: key}, vcard.RunOptions{})
				for _, v := range []struct {
					flag, proto string
				}{{"", "TLS 1.3"}, {"--tls12", "TLS 1.2"}} {
					args := []string{"tls-check", ngx.URL, "--env", "DEMO", "--pin-stdin"}
					if v.flag != "" {
						args = append(args, v.flag)
					}
					signed := card.Server.Stats().Signatures
					r := kindCLI{k}.en(t, "123456\n", args...)
					wantCode(t, r, 0)
					wantIn(t, r.stdout, "200 ")
					wantIn(t, r.stdout, v.proto)
					wantIn(t, r.stdout, testpki.DefaultHSAID)
					if card.Server.Stats().Signatures == signed {
						t.Fatalf("%s: no signature by the card", v.proto)
					}
				}
			})
		}
		// The untrusted server: refused clearly, and the card never signs
		// for it. (tls-check verifies the PIN before it dials, so the
		// card does see the PIN; its tries stay.)
		card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
		r := kindCLI{k}.sv(t, "123456\n", "tls-check", bad.URL, "--env", "DEMO", "--pin-stdin")
		wantCode(t, r, cli.ExitUntrusted)
		wantIn(t, r.stderr, "utfärdat av CN=SITHS e-id Function CA v1 TEST")
		if c := onlyCard(t, kindCLI{k}.status(t)); c.PIN.Retries != 3 {
			t.Fatalf("PIN: %+v", c.PIN)
		}
		if st := card.Server.Stats(); st.Signatures != 0 {
			t.Fatalf("the card signed for an untrusted server: %+v", st)
		}
	})
}
