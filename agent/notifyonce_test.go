package agent_test

import (
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
)

// A reserve card is told once per condition, not per insertion (issue
// 17): inserted, the agent raises reserveCard; pulled and put back, it
// does not raise it again. (More than six certificates goes the same way;
// the PIN blocked and the expiry thresholds already did.) The second pull
// is the barrier: its cardRemoved comes after whatever the re-insertion's
// reading raised.
func TestAgentReserveCardNotifiedOncePerCondition(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{Variant: testpki.Reserve})
	ar := startAgent(t, f.Svc, f.Env, "")
	n, _ := ar.Notes.Wait(t, localapi.NotifyReserveCard, 0)
	if n.CardNumber == "" {
		t.Fatalf("reserve card notification without a card number: %+v", n)
	}
	f.Card.Pull(t)
	_, next := ar.Notes.Wait(t, localapi.NotifyCardRemoved, 0)
	f.Card.Reinsert(t)
	_, next = ar.Notes.Wait(t, localapi.NotifyCardInserted, next)
	wait.For(t, 10*time.Second, "the card read again", func() bool {
		st := ar.Agent.State()
		return st.Card != nil && st.Card.CardNumber == n.CardNumber
	})
	f.Card.Pull(t)
	ar.Notes.Wait(t, localapi.NotifyCardRemoved, next)
	if c := ar.Notes.Count(localapi.NotifyReserveCard); c != 1 {
		t.Fatalf("reserveCard raised %d times over two insertions, want once", c)
	}
}
