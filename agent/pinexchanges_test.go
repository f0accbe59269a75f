package agent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// TestPINChangeUnblockThroughAgentExchanges (issue 17): a PIN change, a
// change with a wrong PIN, an unblock and an unblock with a wrong PUK
// asked of the agent (as the PIN window and the CLI do) take fewer APDUs
// than yubico-piv-tool's 5, including what the agent does afterwards: 4.
// The first session reads only the tries its prompt shows (the PIN's for
// a change, the PUK's for an unblock); the agent's state takes those and
// the operation's own result (9000: back to full; 63Cx: what is left)
// over what it knew as the operation began (the counts not read), instead
// of reading the card again, and a status then shows the PIN's and the
// PUK's tries with no APDU. It was 8 (the agent read the card again after
// each), then 5 (the first session read every count).
func TestPINChangeUnblockThroughAgentExchanges(t *testing.T) {
	for _, k := range []cardkind.Kind{cardkind.PIV, cardkind.IDPrime} {
		t.Run(k.Name, func(t *testing.T) { testPINThroughAgentExchanges(t, k) })
	}
}

func testPINThroughAgentExchanges(t *testing.T, k cardkind.Kind) {
	const budget = 4
	f := setup(t, k, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	cl := dial(t, ar.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := dial(t, ar.Addr).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shows := func(pin, puk int) func(localapi.Event) bool {
		return func(ev localapi.Event) bool {
			st := ev.State
			return st != nil && st.Card != nil && st.Card.Holder.HSAID == testpki.DefaultHSAID && st.Busy == "" &&
				st.Card.PIN.Retries == pin && st.Card.PUK != nil && st.Card.PUK.Retries == puk
		}
	}
	waitEvent(t, events, "the card read on insertion", shows(3, 3))
	apdus := func() int64 { return f.Card.Server.Stats().APDUs }

	// op runs one operation through the agent, then a status; together at
	// most budget APDUs, and both the status and the published state show
	// the tries the card has.
	op := func(what string, run func() error, wantErr func(error) bool, pin, puk int) {
		t.Helper()
		before, resets := apdus(), f.Card.Server.Stats().Resets
		if err := run(); !wantErr(err) {
			t.Fatalf("%s: %v", what, err)
		}
		// The code was presented: the card is reset once, as the
		// command's transaction ends (it was reset again as the
		// connection closed).
		if n := f.Card.Server.Stats().Resets - resets; n != 1 {
			t.Errorf("%s: the card was reset %d times, want once", what, n)
		}
		if p, u := f.Card.State.PINRetries(); p != pin || u != puk {
			t.Fatalf("%s: the card has PIN %d, PUK %d tries left, want %d, %d", what, p, u, pin, puk)
		}
		waitEvent(t, events, what+": the state after it", shows(pin, puk))
		st, err := cl.Status(ctx, app.StatusOptions{})
		if err != nil {
			t.Fatalf("%s: status: %v", what, err)
		}
		if len(st.Cards) != 1 || st.Cards[0].PIN.Retries != pin || st.Cards[0].PUK == nil || st.Cards[0].PUK.Retries != puk {
			t.Fatalf("%s: status %+v, want PIN %d, PUK %d tries", what, st.Cards, pin, puk)
		}
		t.Logf("%s: %d", what, apdus()-before)
		if n := apdus() - before; n > budget {
			t.Errorf("%s and a status through the agent: %d APDUs, want at most %d", what, n, budget)
		}
	}
	prompt := func(answers ...string) app.Prompt { return (&recorder{Answers: answers}).Prompt }
	ok := func(err error) bool { return err == nil }
	next := "97531864"

	op("a PIN change", func() error {
		return cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompt(f.Card.PIN, next))
	}, ok, 3, 3)
	op("a PIN change with a wrong PIN", func() error {
		return cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompt("86421357", "24681357"))
	}, func(err error) bool {
		var wrong *cardreader.WrongPINError
		return errors.As(err, &wrong) && wrong.Retries == 2
	}, 2, 3)
	op("an unblock", func() error {
		return cl.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, prompt(vcard.DefaultPUK, "24681357"))
	}, ok, 3, 3)
	op("an unblock with a wrong PUK", func() error {
		return cl.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, prompt("11223344", "86421357"))
	}, func(err error) bool {
		var wrong *cardreader.WrongPUKError
		return errors.As(err, &wrong) && wrong.Retries == 2
	}, 3, 2)
	// A change reads the PIN's tries only: the PUK's 2 the state had
	// stay, neither read nor taken for a full count.
	op("a PIN change with a wrong PIN after it", func() error {
		return cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompt("86421357", "13572468"))
	}, func(err error) bool {
		var wrong *cardreader.WrongPINError
		return errors.As(err, &wrong) && wrong.Retries == 2
	}, 2, 2)
	op("a PIN change after them", func() error {
		return cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompt("24681357", next))
	}, ok, 3, 2)
}

// TestLoginThroughAgentReadsNoTriesAfter (issue 17): a login asked of the
// agent leaves the agent's state with the tries its VERIFY left (a login
// that succeeded: a full count; a wrong PIN: what the card said), taken
// from the login's own result: a status right after it sends no APDU and
// shows them. The agent read the card again after every login (3 APDUs
// on PIV, SELECT and two GET METADATA). The login's opening session reads
// the PIN's tries only (the prompt's); the PUK's count the state had (2,
// after a wrong PUK) stays in it, neither read nor taken for a full or a
// blocked count. The logins read every count: PIV 13, 5 and 8 APDUs,
// IDPrime 15, 7 and 10; now one fewer each.
func TestLoginThroughAgentReadsNoTriesAfter(t *testing.T) {
	for _, tc := range []struct {
		k cardkind.Kind
		// APDUs of a login that makes the TLS session, of one with a
		// wrong PIN, of one that resumes the session.
		budget [3]int64
	}{
		{cardkind.PIV, [3]int64{12, 4, 7}},
		{cardkind.IDPrime, [3]int64{14, 6, 9}},
	} {
		t.Run(tc.k.Name, func(t *testing.T) { testLoginThroughAgentTries(t, tc.k, tc.budget) })
	}
}

func testLoginThroughAgentTries(t *testing.T, k cardkind.Kind, budget [3]int64) {
	f := setup(t, k, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	cl := dial(t, ar.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := dial(t, ar.Addr).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shows := func(pin, puk int) func(localapi.Event) bool {
		return func(ev localapi.Event) bool {
			st := ev.State
			return st != nil && st.Card != nil && st.Card.Holder.HSAID == testpki.DefaultHSAID && st.Busy == "" &&
				st.Card.PIN.Retries == pin && st.Card.PUK != nil && st.Card.PUK.Retries == puk
		}
	}
	waitEvent(t, events, "the card read on insertion", shows(3, 3))
	apdus := func() int64 { return f.Card.Server.Stats().APDUs }

	// A wrong PUK first: the PUK's count is 2, which a login reads not.
	err = cl.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{Answers: []string{"11223344", "86421357"}}).Prompt)
	if wrongPUK := (*cardreader.WrongPUKError)(nil); !errors.As(err, &wrongPUK) || wrongPUK.Retries != 2 {
		t.Fatalf("an unblock with a wrong PUK: %v", err)
	}
	waitEvent(t, events, "the state after the wrong PUK", shows(3, 2))
	const puk = 2

	login := func(what, pin string, wantErr func(error) bool, left int, most int64) {
		t.Helper()
		o, err := f.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
		if err != nil {
			t.Fatal(err)
		}
		before := apdus()
		_, err = cl.Login(ctx, app.LoginRequest{
			Link:   oob.AutoStartURL(o.AutoStartToken, ""),
			Prompt: (&recorder{Answers: []string{pin}}).Prompt,
		})
		if !wantErr(err) {
			t.Fatalf("%s: %v", what, err)
		}
		after := apdus()
		if p, u := f.Card.State.PINRetries(); p != left || u != puk {
			t.Fatalf("%s: the card has PIN %d, PUK %d tries left, want %d, %d", what, p, u, left, puk)
		}
		// The reply comes after the operation's end: the state is settled.
		st, err := cl.Status(ctx, app.StatusOptions{})
		if err != nil {
			t.Fatalf("%s: status: %v", what, err)
		}
		if len(st.Cards) != 1 || st.Cards[0].PIN.Retries != left || st.Cards[0].PIN.Blocked ||
			st.Cards[0].PUK == nil || st.Cards[0].PUK.Retries != puk || st.Cards[0].PUK.Blocked {
			t.Fatalf("%s: status %+v, want PIN %d, PUK %d tries", what, st.Cards, left, puk)
		}
		waitEvent(t, events, what+": the state after it", shows(left, puk))
		t.Logf("%s: %d APDUs, then %d", what, after-before, apdus()-after)
		if n := after - before; n > most {
			t.Errorf("%s: %d APDUs, want at most %d", what, n, most)
		}
		if n := apdus() - after; n != 0 {
			t.Errorf("%s: the agent read the card again after the login: %d APDUs, want 0", what, n)
		}
	}
	ok := func(err error) bool { return err == nil }
	login("a login", f.Card.PIN, ok, 3, budget[0])
	login("a login with a wrong PIN", "86421357", func(err error) bool {
		var wrong *cardreader.WrongPINError
		return errors.As(err, &wrong) && wrong.Retries == 2
	}, 2, budget[1])
	login("a login after it", f.Card.PIN, ok, 3, budget[2])
}
