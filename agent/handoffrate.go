package agent

import "time"

// Defaults of Options.HandoffBurst and Options.HandoffInterval: three login
// requests at once, then one every 20 s (three a minute). A person opens
// one link per login, two when a click did not seem to take; a page that
// opens links in a loop (docs/protocol.md §8.1) gets three windows, one at
// a time, and the rest are refused.
const (
	DefaultHandoffBurst    = 3
	DefaultHandoffInterval = 20 * time.Second
)

// handoffRate is a token bucket over the login requests the URL handler
// hands over. It counts on the clock when asked: no timer runs. The agent
// holds its mutex around it.
type handoffRate struct {
	burst    int
	interval time.Duration
	tokens   float64
	last     time.Time
	// refused is true from a refusal until the bucket is full again (a
	// quiet spell): the desktop notification is raised once per flood.
	refused bool
}

func newHandoffRate(burst int, interval time.Duration) *handoffRate {
	if burst <= 0 {
		burst = DefaultHandoffBurst
	}
	if interval <= 0 {
		interval = DefaultHandoffInterval
	}
	return &handoffRate{burst: burst, interval: interval, tokens: float64(burst)}
}

// take reports whether a request may be queued at now, and counts it.
// first is true for the first refusal since the bucket was last full.
func (r *handoffRate) take(now time.Time) (ok, first bool) {
	if !r.last.IsZero() && now.After(r.last) {
		r.tokens = min(float64(r.burst), r.tokens+float64(now.Sub(r.last))/float64(r.interval))
	}
	if r.last.IsZero() || now.After(r.last) {
		r.last = now
	}
	if r.tokens >= float64(r.burst) {
		r.refused = false
	}
	if r.tokens >= 1 {
		r.tokens--
		return true, false
	}
	first = !r.refused
	r.refused = true
	return false, first
}
