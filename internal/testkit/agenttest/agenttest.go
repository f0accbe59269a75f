// Package agenttest builds what tests of the agent and its clients share:
// the card service on the native backends (IDPrime, PIV), an agent on a socket of the test's
// own with a client of it, and the reference identity service with a
// relying party. Imported by tests only (internal/deptest keeps it out of
// shipped code).
package agenttest

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// RelyingParty is the relying party's display name in Service.
const RelyingParty = "Journalsystemet Demo"

// Service is an app.Service that reaches kind's card the way the product
// does (every backend in the product's order, kind's preference, the
// process's PC/SC readers), with an identity cache. Its backends are
// closed when tb ends: OpenSC, once loaded, keeps its PC/SC connection to
// a reader whose card went away until it is next asked, and the next
// test's card in that reader could be held up by it or served by the
// PKCS#11 backend instead of its own. Closing the last PKCS#11 backend
// finalises the module and drops that connection.
func Service(tb testing.TB, kind cardkind.Kind) *app.Service {
	tb.Helper()
	opts := kind.Options(cardreader.NewIdentityCache(8))
	for _, b := range opts.Backends {
		if c, ok := b.(io.Closer); ok {
			tb.Cleanup(func() { _ = c.Close() })
		}
	}
	svc, err := app.NewService(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// StartAgent starts an agent with opts (Address "" = a socket in a fresh
// directory) until tb ends, and returns it with its address.
func StartAgent(tb testing.TB, opts agent.Options) (*agent.Agent, string) {
	tb.Helper()
	if opts.Address == "" {
		opts.Address = filepath.Join(tb.TempDir(), "run", "agent.sock")
	}
	a, err := agent.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	return a, opts.Address
}

// Dial connects a client to the agent at addr until tb ends.
func Dial(tb testing.TB, addr string) *localapi.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := localapi.DialAddress(ctx, addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// IdentityService is the reference identity service (idp) with its default
// test PKI, whose root is the DEMO environment's trust anchor, served over
// TLS until tb ends; opts.RelyingParties gets RelyingParty with apiKey.
type IdentityService struct {
	URL string
	IDP *idp.Server
	// RP is a relying party's client of it, with apiKey.
	RP *oob.RPClient
}

// StartIdentityService runs it. Refused handshakes (pulled cards, untrusted
// clients) are the point of some tests: the server's error log is dropped.
func StartIdentityService(tb testing.TB, opts idp.Options, apiKey string) *IdentityService {
	tb.Helper()
	opts.RelyingParties = append(opts.RelyingParties, idp.RelyingParty{Name: RelyingParty, APIKey: apiKey})
	srv, err := idp.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = srv.TLSConfig()
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.PKI().Roots(), ServerName: "127.0.0.1"}}}
	rp, err := oob.NewRPClient(ts.URL, apiKey, hc, oob.RetryPolicy{})
	if err != nil {
		tb.Fatal(err)
	}
	return &IdentityService{URL: ts.URL, IDP: srv, RP: rp}
}

// DemoEnvironment is the DEMO environment with its service at url ("" =
// its default address).
func DemoEnvironment(tb testing.TB, url string) environment.Environment {
	tb.Helper()
	env, err := environment.Lookup(environment.DEMO)
	if err != nil {
		tb.Fatal(err)
	}
	if url != "" {
		env.ServiceURL = url
	}
	return env
}

// Fixture is a card of a kind in reader 0, a Service that reaches it as
// the product does, and the reference identity service in DEMO.
type Fixture struct {
	Kind cardkind.Kind
	Svc  *app.Service
	Card *rig.Card
	Env  environment.Environment
	RP   *oob.RPClient
}

// Setup inserts kind's card issued as spec in reader 0 (once the reader
// shows no card) and starts the reference identity service with a relying
// party of apiKey.
func Setup(tb testing.TB, kind cardkind.Kind, spec testpki.CardSpec, apiKey string) *Fixture {
	tb.Helper()
	WaitEmpty(tb, rig.Require(tb).Reader(0))
	card := kind.Insert(tb, 0, spec, vcard.RunOptions{})
	is := StartIdentityService(tb, idp.Options{}, apiKey)
	return &Fixture{Kind: kind, Svc: Service(tb, kind), Card: card, Env: DemoEnvironment(tb, is.URL), RP: is.RP}
}

// WaitEmpty waits (5 s at most) until reader name shows no card.
func WaitEmpty(tb testing.TB, name string) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rs, err := cardreader.ListReaders(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		busy := false
		for _, r := range rs {
			busy = busy || (r.Name == name && r.CardPresent)
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("reader %q still shows a card", name)
		}
	}
}

// PINPrompt answers every prompt with pin.
func PINPrompt(pin string) app.Prompt {
	return func(context.Context, app.PromptRequest) (*cardreader.Secret, error) {
		return cardreader.NewSecret([]byte(pin)), nil
	}
}

// Prompts answers each kind of prompt with its own secret.
func Prompts(pin, newPIN, puk string) app.Prompt {
	return func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		switch req.Kind {
		case app.PromptNewPIN:
			return cardreader.NewSecret([]byte(newPIN)), nil
		case app.PromptPUK:
			return cardreader.NewSecret([]byte(puk)), nil
		}
		return cardreader.NewSecret([]byte(pin)), nil
	}
}
