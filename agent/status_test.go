package agent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// A status is answered from what the agent read on the insertion (no
// APDU) until the card changes: after an operation (a wrong PIN) and a
// re-insertion it shows the card's new state, read in one session (at
// most 4 APDUs on either kind: SELECT, the card's ID, the PIN's and the
// PUK's tries; an IDPrime card's ID is its CPLC, one GET DATA). Tries
// another program spends are not seen by a status meanwhile, but the next
// PIN prompt reads them from the card.
func TestStatusFromWhatTheAgentKnows(t *testing.T) { cardkind.Run(t, testStatusFromWhatTheAgentKnows) }

func testStatusFromWhatTheAgentKnows(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	apdus := func() int64 { return f.Card.Server.Stats().APDUs }
	start := apdus()
	ar := startAgent(t, f.Svc, f.Env, "")
	cl := dial(t, ar.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := dial(t, ar.Addr).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ready := func(tries int) func(localapi.Event) bool {
		return func(ev localapi.Event) bool {
			st := ev.State
			return st != nil && st.Card != nil && st.Card.Holder.HSAID == testpki.DefaultHSAID && st.Card.PIN.Retries == tries && st.Busy == ""
		}
	}
	waitEvent(t, events, "the card read on insertion", ready(3))
	// Cold (nothing cached). IDPrime: one session reads the ID, the tries
	// and the certificates: SELECT, CPLC, three tries, SELECT and READ of
	// the index, SELECT and five READs of the compressed certificate. PIV
	// likewise: SELECT, CHUID, GET VERSION, PIN and PUK metadata, the key
	// history and the four slots' certificate objects, SELECT once.
	cold := map[string]int64{cardreader.BackendPIV: 12, cardreader.BackendIDPrime: 13}[k.Backend]
	if n := apdus() - start; cold > 0 && n > cold {
		t.Fatalf("start to ready with nothing cached: %d APDUs, want at most %d", n, cold)
	}
	status := func(what string, tries int) {
		t.Helper()
		st, err := cl.Status(ctx, app.StatusOptions{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(st.Cards) != 1 || st.Cards[0].PIN.Retries != tries || st.Cards[0].Holder.HSAID != testpki.DefaultHSAID {
			t.Fatalf("%s: %+v, want %d tries", what, st.Cards, tries)
		}
	}

	before := apdus()
	for range 3 {
		status("status after the insertion", 3)
	}
	if n := apdus() - before; n != 0 {
		t.Fatalf("three statuses after the insertion sent %d APDUs, want none: the agent knew", n)
	}

	// An operation through the agent changes the tries: the next status
	// says so.
	err = cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{Answers: []string{"86421357", "91735402"}}).Prompt)
	var wrong *cardreader.WrongPINError
	if !errors.As(err, &wrong) {
		t.Fatalf("a wrong PIN: %v", err)
	}
	if k.ExactRetries {
		waitEvent(t, events, "the tries read after the operation", ready(2))
		status("status after a wrong PIN", 2)
		before = apdus()
		status("status again", 2)
		if n := apdus() - before; n != 0 {
			t.Fatalf("a status after the read that followed the operation sent %d APDUs, want none", n)
		}
	}

	// The card pulled and put back: read again, in one session.
	f.Card.Pull(t)
	waitEvent(t, events, "the card gone", func(ev localapi.Event) bool { return ev.State != nil && ev.State.Card == nil })
	before = apdus()
	f.Card.Reinsert(t)
	want := 2
	if !k.ExactRetries {
		want = -1
	}
	waitEvent(t, events, "the card read after re-insertion", func(ev localapi.Event) bool {
		st := ev.State
		return st != nil && st.Card != nil && st.Card.Holder.HSAID == testpki.DefaultHSAID && st.Busy == "" && (want < 0 || st.Card.PIN.Retries == want)
	})
	budget := map[string]int64{cardreader.BackendPIV: 4, cardreader.BackendIDPrime: 4}[k.Backend]
	if n := apdus() - before; budget > 0 && n > budget {
		t.Fatalf("re-insertion: %d APDUs, want at most %d", n, budget)
	}

	// Another program spends a try: a status does not see it (the agent
	// was told of no change), the next PIN prompt does.
	if !k.ExactRetries {
		return
	}
	other := agenttest.Service(t, k)
	if err := other.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{Answers: []string{"86421357", "91735402"}}).Prompt); !errors.As(err, &wrong) {
		t.Fatalf("a wrong PIN in another program: %v", err)
	}
	if p, _ := f.Card.State.PINRetries(); p != 1 {
		t.Fatalf("the card has %d tries left, want 1", p)
	}
	status("status after another program spent a try (not seen: documented)", 2)
	rec := &recorder{} // no answer: the prompt is cancelled
	if err := cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt); !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("cancelled PIN change: %v", err)
	}
	if len(rec.Asked) != 1 || rec.Asked[0].Retries != 1 {
		t.Fatalf("the PIN prompt after another program spent a try: %+v, want 1 try left", rec.Asked)
	}
	waitEvent(t, events, "the tries read after the prompt", ready(1))
	status("status after the prompt", 1)
}

// waitEvent reads events until ok says so, for up to 10 s.
func waitEvent(t *testing.T, events <-chan localapi.Event, what string, ok func(localapi.Event) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatalf("subscription ended waiting for %s", what)
			}
			if ok(ev) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s within 10 s", what)
		}
	}
}
