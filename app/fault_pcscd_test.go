package app_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// pcscdKiller is a vcard trace sink that kills pcscd when the card has
// answered its k-th APDU since arming: mid-operation, with an exchange in
// flight (the trace line is written before the reply goes out).
type pcscdKiller struct {
	p      *rig.PCSCD
	left   atomic.Int64 // APDUs until the kill; 0 = disarmed
	killed chan error
	once   sync.Once
}

func (k *pcscdKiller) arm(n int) {
	k.killed = make(chan error, 1)
	k.once = sync.Once{}
	k.left.Store(int64(n))
}

func (k *pcscdKiller) Write(p []byte) (int, error) {
	if k.left.Load() > 0 && k.left.Add(-1) == 0 {
		k.once.Do(func() { go func() { k.killed <- k.p.Kill() }() })
	}
	return len(p), nil
}

// waitServiceBack restarts pcscd and waits until svc sees the card again
// (the card dials the new pcscd by itself).
func waitServiceBack(t *testing.T, p *rig.PCSCD, svc *app.Service, reader string) {
	t.Helper()
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := svc.Status(context.Background(), app.StatusOptions{})
		if err == nil && len(st.Cards) == 1 && st.Cards[0].Err() == nil && st.Cards[0].Reader == reader {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the card is not back 10 s after pcscd restarted: %+v %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typedServiceLoss: what an operation may return when pcscd dies under
// it: the service is gone, or (the exchange cut) the card is.
func typedServiceLoss(err error) bool {
	return errors.Is(err, cardreader.ErrNoService) || errors.Is(err, cardreader.ErrCardRemoved) ||
		errors.Is(err, cardreader.ErrNoReader) || errors.Is(err, cardreader.ErrNoCard)
}

// TestFaultPCSCDKilledMidOperation kills pcscd in the middle of a PIN
// change (between the PIN prompt and the card call, and with a CHANGE
// REFERENCE exchange in flight) and of a login through the agent. Each
// time: a typed error within 2 s, no try lost, the card's PIN the old or
// the new one, and once pcscd is back the same Service (and agent)
// completes the operation without a restart.
func TestFaultPCSCDKilledMidOperation(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	p := rig.Require(t)
	// Replace the fixture's card by one whose APDUs we can count.
	if err := f.card.Stop(); err != nil {
		t.Fatal(err)
	}
	killer := &pcscdKiller{p: p}
	f.card = p.InsertCard(t, 0, vcard.ProvisionOptions{Dir: t.TempDir()}, vcard.RunOptions{Trace: killer})
	card := f.card
	svc := newService(t)
	ctx := context.Background()
	pins := [2]string{"246813", "975318"}
	if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(vcard.DefaultPIN, pins[0], "")); err != nil {
		t.Fatal(err)
	}
	cur := 0
	checkCard := func(t *testing.T, what string) {
		t.Helper()
		if pr, ur := card.State.PINRetries(); pr != 3 || ur != 3 {
			t.Fatalf("%s: PIN %d PUK %d tries left, want 3 3", what, pr, ur)
		}
		a, b := card.State.PINIs([]byte(pins[cur])), card.State.PINIs([]byte(pins[1-cur]))
		if a == b {
			t.Fatalf("%s: the card's PIN is neither the old nor the new one", what)
		}
		if b {
			cur = 1 - cur
		}
	}

	t.Run("in-prompt", func(t *testing.T) {
		kill := func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
			if req.Kind == app.PromptPIN {
				if err := p.Kill(); err != nil {
					t.Error(err)
				}
			}
			return prompts(pins[cur], pins[1-cur], "")(ctx, req)
		}
		rctx, cancel := context.WithTimeout(ctx, faultDeadline)
		err := svc.ChangePIN(rctx, app.Selector{}, cardreader.PINIdentification, kill)
		hung := rctx.Err() != nil
		cancel()
		if hung || !typedServiceLoss(err) {
			t.Errorf("PIN change with pcscd killed at the prompt: %v (hung %v)", err, hung)
		}
		waitServiceBack(t, p, svc, card.Reader)
		checkCard(t, "after the restart")
		if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], "")); err != nil {
			t.Fatalf("the same PIN change after the restart: %v", err)
		}
		checkCard(t, "after the change")
	})

	// Measure a PIN change's APDUs, then kill pcscd at each third one.
	before := card.Server.Stats().APDUs
	if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], "")); err != nil {
		t.Fatal(err)
	}
	checkCard(t, "measuring")
	n := int(card.Server.Stats().APDUs - before)
	for k := 1; k <= n; k += 3 {
		t.Run("apdu-"+itoa(k), func(t *testing.T) {
			killer.arm(k)
			rctx, cancel := context.WithTimeout(ctx, faultDeadline)
			err := svc.ChangePIN(rctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], ""))
			hung := rctx.Err() != nil
			cancel()
			killer.left.Store(0)
			select {
			case kerr := <-killer.killed:
				if kerr != nil {
					t.Fatal(kerr)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("pcscd not killed at APDU %d/%d", k, n)
			}
			if hung || err != nil && !typedServiceLoss(err) {
				t.Errorf("k=%d/%d: %v (hung %v)", k, n, err, hung)
			}
			t.Logf("pcscd killed at APDU %d/%d: %v", k, n, err)
			waitServiceBack(t, p, svc, card.Reader)
			wasCur := cur
			checkCard(t, "after the restart")
			if err == nil && cur == wasCur {
				t.Fatalf("k=%d/%d: success reported, PIN unchanged", k, n)
			}
			if cur == wasCur {
				if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], "")); err != nil {
					t.Fatalf("k=%d/%d: the same change after the restart: %v", k, n, err)
				}
				checkCard(t, "after the change")
			}
		})
	}

	t.Run("agent-login", func(t *testing.T) {
		ar := startAgent(t, svc, f.env, "")
		cl := dial(t, ar.Addr)
		waitAgentCard(t, ar.Agent)
		o, err := f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
		if err != nil {
			t.Fatal(err)
		}
		link := oob.AutoStartURL(o.AutoStartToken, "")
		killer.arm(6) // after the PIN's VERIFY, before the signatures
		rctx, cancel := context.WithTimeout(ctx, faultDeadline)
		_, err = cl.Login(rctx, app.LoginRequest{Link: link, Prompt: pinPrompt(pins[cur])})
		hung := rctx.Err() != nil
		cancel()
		killer.left.Store(0)
		if kerr := <-killer.killed; kerr != nil {
			t.Fatal(kerr)
		}
		if hung || !typedServiceLoss(err) {
			t.Errorf("login through the agent with pcscd killed: %v (hung %v)", err, hung)
		}
		waitServiceBack(t, p, svc, card.Reader)
		waitAgentCard(t, ar.Agent)
		checkCard(t, "after the restart")
		if _, err := cl.Login(ctx, app.LoginRequest{Link: link, Prompt: pinPrompt(pins[cur])}); err != nil {
			// The pull may have failed the order: a new one must work.
			if !errors.Is(err, oob.ErrExpired) && !errors.Is(err, oob.ErrAlreadyCompleted) {
				t.Fatalf("the same login after the restart: %v", err)
			}
			o, err = f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.Login(ctx, app.LoginRequest{Link: oob.AutoStartURL(o.AutoStartToken, ""), Prompt: pinPrompt(pins[cur])}); err != nil {
				t.Fatalf("a new login after the restart: %v", err)
			}
		}
		if c, err := f.rp.Collect(ctx, o.OrderRef); err != nil || c.Status != oob.StatusComplete {
			t.Fatalf("order after the login: %+v %v", c, err)
		}
	})
}

// TestFaultPCSCDKilledIdle: the agent idles with a card; pcscd is killed
// (the agent says the service is down, and operations fail typed and at
// once) and restarted (the agent shows the card again by itself, and the
// operations work), twice in a row.
func TestFaultPCSCDKilledIdle(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	p := rig.Require(t)
	svc := newService(t)
	ar := startAgent(t, svc, f.env, "")
	cl := dial(t, ar.Addr)
	ctx := context.Background()
	waitAgentCard(t, ar.Agent)
	for round := 1; round <= 2; round++ {
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		waitAgent(t, ar.Agent, "service down", func(s localapi.State) bool { return s.ServiceDown && s.Card == nil })
		rctx, cancel := context.WithTimeout(ctx, faultDeadline)
		_, err := cl.Status(rctx, app.StatusOptions{})
		hung := rctx.Err() != nil
		cancel()
		if hung || !errors.Is(err, cardreader.ErrNoService) {
			t.Errorf("round %d: status with pcscd down: %v (hung %v)", round, err, hung)
		}
		if err := p.Restart(); err != nil {
			t.Fatal(err)
		}
		waitAgentCard(t, ar.Agent)
		st, err := cl.Status(ctx, app.StatusOptions{})
		if err != nil || len(st.Cards) != 1 || st.Cards[0].PIN.Retries != 3 {
			t.Fatalf("round %d: status after the restart: %+v %v", round, st, err)
		}
	}
	if _, _, err := f.login(t, vcard.DefaultPIN); err != nil {
		t.Fatalf("login after the restarts: %v", err)
	}
}

func waitAgentCard(t *testing.T, a *agent.Agent) {
	t.Helper()
	waitAgent(t, a, "the card read", func(s localapi.State) bool { return !s.ServiceDown && s.Card != nil && s.Busy == "" })
}

func waitAgent(t *testing.T, a *agent.Agent, what string, ok func(localapi.State) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(a.State()) {
		if time.Now().After(deadline) {
			t.Fatalf("agent: %s not within 10 s: %+v", what, a.State())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
