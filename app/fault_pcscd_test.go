package app_test

import (
	"context"
	"errors"
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

// faultDeadline is how long one operation may take with the card pulled
// or pcscd gone under it: longer is a hang, reported as a failure. (The
// card-pull suite itself is internal/testkit/pullsuite.)
const faultDeadline = 2 * time.Second

// killWhileHeld runs op with the card's k-th APDU from now held
// (vcard.Server.HoldAt: read, neither executed nor answered) and kills
// pcscd once that APDU has arrived, so the kill always lands with an
// exchange in flight. It returns op's error, whether op overran
// faultDeadline after the kill, and whether the APDU was held at all.
func killWhileHeld(t *testing.T, p *rig.PCSCD, card *rig.Card, k int, op func(ctx context.Context) error) (err error, hung, held bool) {
	t.Helper()
	heldc := card.Server.HoldAt(k)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	select {
	case <-heldc:
	case err := <-done:
		card.Server.HoldAt(0)
		return err, false, false
	case <-time.After(10 * time.Second):
		t.Fatalf("APDU %d never arrived", k)
	}
	if kerr := p.Kill(); kerr != nil {
		t.Fatal(kerr)
	}
	select {
	case err = <-done:
		return err, false, true
	case <-time.After(faultDeadline):
		cancel()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the operation never returned after pcscd was killed")
		}
		return err, true, true
	}
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
// change (between the PIN prompt and the card call, and with an APDU in
// flight: the card holds the k-th APDU unanswered until pcscd is gone,
// for every k up to the CHANGE REFERENCE) and of a login through
// the agent. Each time: a typed error (never success: the card never
// executed the held command) within 2 s, "outcome unknown" only for the
// held CHANGE REFERENCE, no try lost, the card's PIN still the old one,
// and once pcscd is back the same Service (and agent) completes the
// operation without a restart.
func TestFaultPCSCDKilledMidOperation(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	p := rig.Require(t)
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

	// Measure a PIN change's APDUs, then kill pcscd with each third one
	// and the CHANGE REFERENCE held.
	before := card.Server.Stats().APDUs
	changeAt := 0
	card.Server.Observe(func(ins byte) {
		if ins == 0x24 {
			changeAt = int(card.Server.Stats().APDUs-before) + 1
		}
	})
	err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], ""))
	card.Server.Observe(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCard(t, "measuring")
	n := int(card.Server.Stats().APDUs - before)
	if changeAt == 0 {
		t.Fatalf("no CHANGE REFERENCE among the %d APDUs", n)
	}
	t.Logf("PIN change: %d APDUs, CHANGE REFERENCE at %d", n, changeAt)
	for k := 1; k <= n; k++ {
		t.Run("apdu-"+itoa(k), func(t *testing.T) {
			err, hung, held := killWhileHeld(t, p, card, k, func(ctx context.Context) error {
				return svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], ""))
			})
			if !held {
				t.Fatalf("k=%d/%d: APDU not reached, the operation ended first: %v", k, n, err)
			}
			if hung || !typedServiceLoss(err) {
				t.Errorf("k=%d/%d: %v (hung %v)", k, n, err, hung)
			}
			if errors.Is(err, app.ErrOutcomeUnknown) != (k == changeAt) {
				t.Errorf("k=%d/%d: outcome unknown %v, want it only for the held CHANGE REFERENCE (%d): %v", k, n, errors.Is(err, app.ErrOutcomeUnknown), changeAt, err)
			}
			t.Logf("pcscd killed with APDU %d/%d in flight: %v", k, n, err)
			waitServiceBack(t, p, svc, card.Reader)
			wasCur := cur
			checkCard(t, "after the restart")
			if cur != wasCur {
				t.Fatalf("k=%d/%d: the PIN changed although the card never executed the held command", k, n)
			}
			if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(pins[cur], pins[1-cur], "")); err != nil {
				t.Fatalf("k=%d/%d: the same change after the restart: %v", k, n, err)
			}
			checkCard(t, "after the change")
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
		// The 6th APDU: after the PIN's VERIFY, before the signatures.
		err, hung, held := killWhileHeld(t, p, card, 6, func(ctx context.Context) error {
			_, err := cl.Login(ctx, app.LoginRequest{Link: link, Prompt: pinPrompt(pins[cur])})
			return err
		})
		if !held {
			t.Fatalf("APDU 6 not reached, the login ended first: %v", err)
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
