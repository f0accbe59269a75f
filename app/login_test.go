package app_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

const rpKey = "app-test-relying-party-key-0123456789"

type fixture struct {
	kind cardkind.Kind
	svc  *app.Service
	card *rig.Card
	env  environment.Environment
	rp   *oob.RPClient
}

// setup inserts kind's card issued as spec in reader 0 and starts the
// reference identity service; svc reaches the card as the product does.
func setup(t testing.TB, kind cardkind.Kind, spec testpki.CardSpec) *fixture {
	t.Helper()
	waitEmpty(t, rig.Require(t).Reader(0))
	card := kind.Insert(t, 0, spec, vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey) // handshakes cut by pulled cards: its log is dropped
	return &fixture{kind: kind, svc: agenttest.Service(t, kind), card: card, env: agenttest.DemoEnvironment(t, is.URL), rp: is.RP}
}

// service is a fresh Service for the fixture's card (a cold identity
// cache, as on a first insertion).
func (f *fixture) service(t testing.TB) *app.Service { return agenttest.Service(t, f.kind) }

func waitEmpty(t testing.TB, name string) { t.Helper(); agenttest.WaitEmpty(t, name) }

func pinPrompt(pin string) app.Prompt { return agenttest.PINPrompt(pin) }

func (f *fixture) login(t *testing.T, pin string) (*oob.AuthResponse, *app.LoginResult, error) {
	t.Helper()
	o, err := f.rp.Auth(context.Background(), "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	var shown app.LoginApproval
	res, err := f.svc.Login(context.Background(), app.LoginRequest{
		Link:    oob.AutoStartURL(o.AutoStartToken, ""),
		Env:     f.env,
		Prompt:  pinPrompt(pin),
		Approve: func(_ context.Context, a app.LoginApproval) error { shown = a; return nil },
	})
	if err == nil && shown.RelyingParty != "Journalsystemet Demo" {
		t.Errorf("approval showed %+v", shown)
	}
	return o, res, err
}

// N logins in one process lifetime cost one card signature for TLS: the
// first handshake signs, the rest resume. Each login still signs its own
// challenge with the card. On every kind of card.
func TestLoginsResumeTLS(t *testing.T) { cardkind.Run(t, testLoginsResumeTLS) }

func testLoginsResumeTLS(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	before := f.card.Server.Stats().Signatures
	const n = 5
	for i := 0; i < n; i++ {
		_, res, err := f.login(t, "123456")
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if res.HSAID != testpki.DefaultHSAID {
			t.Fatalf("login %d: %+v", i, res)
		}
		if i > 0 && !res.TLSResumed {
			t.Errorf("login %d did not resume TLS", i)
		}
	}
	got := f.card.Server.Stats().Signatures - before
	if got != n+1 {
		t.Fatalf("%d logins cost %d card signatures, want %d (one per challenge plus one TLS handshake)", n, got, n+1)
	}
	// After the card is removed, the next login needs a fresh handshake.
	f.svc.CardRemoved(f.card.Reader)
	before = f.card.Server.Stats().Signatures
	if _, res, err := f.login(t, "123456"); err != nil || res.TLSResumed {
		t.Fatalf("after removal: %+v %v", res, err)
	}
	if got := f.card.Server.Stats().Signatures - before; got != 2 {
		t.Fatalf("after removal a login cost %d signatures, want 2", got)
	}
}

// The card pulled at each APDU of a login: a typed error, quickly; an order
// the service had already shown is failed with cardRemoved, never left
// complete without a signature. On every kind of card.
func TestLoginCardPulled(t *testing.T) { cardkind.Run(t, testLoginCardPulled) }

func testLoginCardPulled(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	var failedClean, completed int
	// Until a pull comes after the login's last APDU (OpenSC's module
	// sends many more than the native backends: it binds the card anew).
	for k := 1; k <= 150; k++ {
		f.card.Server.SetDropAfter(k)
		start := time.Now()
		o, _, err := f.login(t, "123456")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("k=%d: login took %v", k, d)
		}
		f.card.Server.SetDropAfter(0)
		c, cerr := f.rp.Collect(context.Background(), o.OrderRef)
		if cerr != nil {
			t.Fatal(cerr)
		}
		switch {
		case err == nil:
			completed++
			if c.Status != oob.StatusComplete {
				t.Fatalf("k=%d: login ok but order %+v", k, c)
			}
		case errors.Is(err, cardreader.ErrCardRemoved) || errors.Is(err, cardreader.ErrNoCard):
			if c.Status == oob.StatusComplete {
				t.Fatalf("k=%d: failed login but order complete", k)
			}
			if c.Status == oob.StatusFailed && c.HintCode == oob.HintCardRemoved {
				failedClean++
			}
		default:
			t.Fatalf("k=%d: untyped error %v", k, err)
		}
		if !f.card.Server.Stats().WantIn {
			f.card.Reinsert(t)
			waitPresent(t, f.card.Reader)
		}
		if r, _ := f.card.State.PINRetries(); r != 3 {
			t.Fatalf("k=%d: a correct PIN cost a try (%d left)", k, r)
		}
		if completed > 0 && failedClean > 0 && k > 20 {
			break
		}
	}
	if failedClean == 0 {
		t.Error("no pull failed an order with cardRemoved")
	}
	if completed == 0 {
		t.Error("no login completed")
	}
}

func waitPresent(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rs, _ := cardreader.ListReaders(context.Background())
		for _, r := range rs {
			if r.Name == name && r.CardPresent {
				return
			}
		}
	}
	t.Fatalf("reader %q: card not back", name)
}

// A login's prompt shows the PIN's tries left, read before it (the PIN's
// count only: issue 17); each wrong PIN costs the card one try, never
// retried; and a blocked PIN is refused before anything is asked, by a
// login (whose order is cancelled) and by tls-check. On every kind of
// card.
func TestLoginShowsTriesRefusesBlocked(t *testing.T) {
	cardkind.Run(t, testLoginShowsTriesRefusesBlocked)
}

func testLoginShowsTriesRefusesBlocked(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	ctx := context.Background()
	login := func(rec *recorder) (*oob.AuthResponse, error) {
		t.Helper()
		o, err := f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Login(ctx, app.LoginRequest{Link: oob.AutoStartURL(o.AutoStartToken, ""), Env: f.env, Prompt: rec.Prompt})
		return o, err
	}
	for left := 3; left > 0; left-- {
		rec := &recorder{Answers: []string{"86421357"}}
		_, err := login(rec)
		var wrong *cardreader.WrongPINError
		if !errors.As(err, &wrong) && !(left == 1 && errors.Is(err, cardreader.ErrPINBlocked)) {
			t.Fatalf("a wrong PIN with %d tries left: %v", left, err)
		}
		if len(rec.Asked) != 1 || rec.Asked[0].Kind != app.PromptPIN || rec.Asked[0].Retries != left {
			t.Fatalf("a wrong PIN with %d tries left: asked %+v, want the PIN once, showing %d", left, rec.Asked, left)
		}
		if p, _ := f.card.State.PINRetries(); p != left-1 {
			t.Fatalf("a wrong PIN with %d tries left: the card has %d, want %d", left, p, left-1)
		}
	}
	rec := &recorder{Answers: []string{f.card.PIN}}
	o, err := login(rec)
	if !errors.Is(err, cardreader.ErrPINBlocked) || len(rec.Asked) != 0 {
		t.Fatalf("a login with the PIN blocked: %v, asked %+v; want ErrPINBlocked, nothing asked", err, rec.Asked)
	}
	c, err := f.rp.Collect(ctx, o.OrderRef)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != oob.StatusFailed {
		t.Errorf("the order after a blocked PIN: %+v, want failed", c)
	}
	// Refused before the prompt, so before anything is dialled.
	_, err = f.svc.TLSCheck(ctx, app.TLSCheckRequest{URL: "https://127.0.0.1:1/", Roots: x509.NewCertPool(), Prompt: rec.Prompt})
	if !errors.Is(err, cardreader.ErrPINBlocked) || len(rec.Asked) != 0 {
		t.Fatalf("tls-check with the PIN blocked: %v, asked %+v; want ErrPINBlocked, nothing asked", err, rec.Asked)
	}
}
