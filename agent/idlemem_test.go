package agent

import (
	"context"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
)

// TestReleaseWhenIdle: the memory is given back once per burst of state
// changes, never sooner than quiet after the burst's last change, and an
// agent that stays quiet is not woken again (no periodic release).
func TestReleaseWhenIdle(t *testing.T) {
	const quiet = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	states := make(chan localapi.State)
	released := make(chan time.Time, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		releaseWhenIdle(ctx, states, quiet, func() { released <- time.Now() })
	}()

	for burst := range 2 {
		var last time.Time
		for range 5 {
			states <- localapi.State{}
			last = time.Now()
		}
		at := wait.Recv(t, released, 10*time.Second, "the release after a burst")
		if gap := at.Sub(last); gap < quiet {
			t.Fatalf("burst %d: released %v after the last change, want >= %v", burst, gap, quiet)
		}
		// Quiet from now on: no second release without a change.
		if at, ok := wait.TryRecv(released, 3*quiet); ok {
			t.Fatalf("burst %d: released again at %v with no change of state", burst, at)
		}
	}
	close(states)
	wait.Recv(t, done, 10*time.Second, "releaseWhenIdle's return when states closes")
}
