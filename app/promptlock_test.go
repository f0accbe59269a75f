package app_test

// Issue 14 item 3: a prompt never locks the card. While a login's PIN
// prompt is open, status answers and a PIN change goes through; a prompt
// left open ends when the order does.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// openPrompt is a PIN prompt that stays open like a person who has not
// typed yet: it says when it opened, and ends when released (with
// ErrCancelled) or when its context is done (with the context's error,
// reported on ended).
type openPrompt struct {
	opened  chan struct{}
	release chan struct{}
	ended   chan error // the prompt context's error, when it ended by it
}

func newOpenPrompt() *openPrompt {
	return &openPrompt{opened: make(chan struct{}, 1), release: make(chan struct{}), ended: make(chan error, 1)}
}

func (p *openPrompt) prompt(ctx context.Context, _ app.PromptRequest) (*cardreader.Secret, error) {
	p.opened <- struct{}{}
	select {
	case <-p.release:
		return nil, app.ErrCancelled
	case <-ctx.Done():
		p.ended <- ctx.Err()
		return nil, ctx.Err()
	case <-time.After(time.Minute): // a safety net: the test fails first
		return nil, errors.New("prompt never ended")
	}
}

// recvWithin waits for ch for at most d.
func recvWithin[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: no answer within %v", what, d)
	}
	var zero T
	return zero
}

type result[T any] struct {
	v   T
	err error
}

// TestPromptHoldsNoLock: with a login's PIN prompt open on the card,
// status answers within 1 s and a PIN change on the same card goes
// through; the login then ends as the user cancels it.
func TestPromptHoldsNoLock(t *testing.T) { cardkind.Run(t, testPromptHoldsNoLock) }

func testPromptHoldsNoLock(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	o, err := f.rp.Auth(context.Background(), "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	p := newOpenPrompt()
	login := make(chan result[*app.LoginResult], 1)
	go func() {
		res, err := f.svc.Login(context.Background(), app.LoginRequest{Link: oob.AutoStartURL(o.AutoStartToken, ""), Env: f.env, Prompt: p.prompt})
		login <- result[*app.LoginResult]{res, err}
	}()
	recvWithin(t, p.opened, 30*time.Second, "login prompt")

	status := make(chan result[*app.Status], 1)
	go func() {
		st, err := f.svc.Status(context.Background(), app.StatusOptions{})
		status <- result[*app.Status]{st, err}
	}()
	st := recvWithin(t, status, time.Second, "status while a login prompt is open")
	if st.err != nil || len(st.v.Cards) != 1 {
		t.Fatalf("status while a login prompt is open: %+v %v", st.v, st.err)
	}

	change := make(chan error, 1)
	go func() {
		change <- f.svc.ChangePIN(context.Background(), app.Selector{}, "", agenttest.Prompts("123456", "246810", ""))
	}()
	if err := recvWithin(t, change, 30*time.Second, "PIN change while a login prompt is open"); err != nil {
		t.Fatalf("PIN change while a login prompt is open: %v", err)
	}
	if !f.card.State.PINIs([]byte("246810")) {
		t.Error("the PIN was not changed")
	}

	close(p.release)
	if r := recvWithin(t, login, 30*time.Second, "login after its prompt was cancelled"); !errors.Is(r.err, app.ErrCancelled) {
		t.Fatalf("login: %+v %v, want ErrCancelled", r.v, r.err)
	}
}

// TestPromptEndsAtOrderExpiry: a login prompt nobody answers is ended by
// the service when the order expires (the prompt's context is done), and
// the login reports the order expired.
func TestPromptEndsAtOrderExpiry(t *testing.T) {
	k := cardkind.PIV
	waitEmpty(t, rig.Require(t).Reader(0))
	_ = k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{OrderLifetime: 3 * time.Second}, rpKey)
	svc := agenttest.Service(t, k)
	o, err := is.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	p := newOpenPrompt()
	login := make(chan error, 1)
	go func() {
		_, err := svc.Login(context.Background(), app.LoginRequest{
			Link: oob.AutoStartURL(o.AutoStartToken, ""), Env: agenttest.DemoEnvironment(t, is.URL), Prompt: p.prompt,
		})
		login <- err
	}()
	recvWithin(t, p.opened, 30*time.Second, "login prompt")
	if err := recvWithin(t, p.ended, 10*time.Second, "the prompt's end at the order's expiry"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("prompt ended with %v, want its deadline", err)
	}
	if err := recvWithin(t, login, 10*time.Second, "login after the order expired"); !errors.Is(err, oob.ErrExpired) {
		t.Fatalf("login: %v, want oob.ErrExpired", err)
	}
}
