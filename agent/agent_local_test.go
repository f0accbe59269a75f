package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// States gives the tray the agent's state in-process: the current one at
// once, then each change (newest only when the reader lags), and it closes
// with the agent.
func TestAgentStates(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	states := ar.Agent.States(ctx)
	wait := func(what string, ok func(localapi.State) bool) localapi.State {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case st, open := <-states:
				if !open {
					t.Fatalf("states closed waiting for %s", what)
				}
				if ok(st) {
					return st
				}
			case <-deadline:
				t.Fatalf("no state with %s within 10 s", what)
			}
		}
	}
	st := wait("the card", func(st localapi.State) bool { return st.Card != nil })
	if st.Card.Holder.HSAID != testpki.DefaultHSAID {
		t.Fatalf("card %+v", st.Card)
	}
	f.Card.Pull(t)
	gone := wait("the card gone", func(st localapi.State) bool { return st.Card == nil })
	if gone.Seq <= st.Seq {
		t.Fatalf("seq %d after %d", gone.Seq, st.Seq)
	}

	// The environment switches for logins that start afterwards.
	qa, err := environment.Lookup(environment.QA)
	if err != nil {
		t.Fatal(err)
	}
	ar.Agent.SetEnvironment(qa)
	if got := ar.Agent.Environment().Name; got != environment.QA {
		t.Fatalf("environment %s after SetEnvironment(QA)", got)
	}

	_ = ar.Agent.Close()
	for range states { // drains and ends
	}
}
