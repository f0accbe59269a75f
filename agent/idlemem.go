package agent

import (
	"context"
	"time"

	"github.com/sithseid/sithseid/localapi"
)

// idleRelease is how long the agent's state must stay unchanged before
// the memory its last burst of work left behind is given back.
const idleRelease = time.Second

// releaseWhenIdle calls release once the agent has been quiet for quiet
// after each change of its state (start, a card read, an operation): the
// agent spends most of its life idle, and the Go runtime otherwise keeps
// the heap its start-up and last card read grew (returned to the system
// only slowly, by the background scavenger, which itself wakes the process
// while it works). The timer runs only after a change: an idle agent is
// not woken by it. It returns when states closes or ctx ends.
func releaseWhenIdle(ctx context.Context, states <-chan localapi.State, quiet time.Duration, release func()) {
	t := time.NewTimer(quiet)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-states:
			if !ok {
				return
			}
			t.Reset(quiet)
		case <-t.C:
			release()
		}
	}
}
