package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// The state the agent publishes names the card's environment, from the
// issuer of the certificates it read: a card from the test PKI (its CAs'
// names end in TEST) is a TEST card, so the windows that follow the
// published state can warn when the app is set to PROD.
func TestAgentPublishesCardEnvironment(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := dial(t, ar.Addr).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				t.Fatal("subscription ended before the card's identity was published")
			}
			if ev.State == nil || ev.State.Card == nil || ev.State.Card.Holder.HSAID != testpki.DefaultHSAID {
				continue
			}
			if got := ev.State.Card.Environment; got != localapi.CardEnvTest {
				t.Fatalf("published card environment %q, want %q (card %+v)", got, localapi.CardEnvTest, ev.State.Card)
			}
			return
		case <-deadline:
			t.Fatal("no state with the card's identity within 15 s")
		}
	}
}
