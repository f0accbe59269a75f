package agent

import (
	"strconv"
	"sync"
	"time"

	"github.com/sithseid/sithseid/localapi"
)

// NotifyThrottle keeps desktop notifications rare enough to be read: the
// same notification (kind, reader, card, certificate) at most once per
// Repeat, and at most Burst of any kind per Window. It keeps timestamps
// and checks them when asked: no timer runs. The zero value uses the
// defaults below.
type NotifyThrottle struct {
	// Repeat is the least time between two equal notifications (a card
	// wiggled in its reader); 0 means 20 s.
	Repeat time.Duration
	// Burst notifications per Window at most; 0 means 5 per minute.
	Burst  int
	Window time.Duration

	mu   sync.Mutex
	last map[string]time.Time
	sent []time.Time
}

// Allow reports whether n may be shown at now, and counts it if so. A
// login request is always allowed: the user is waiting for it.
func (t *NotifyThrottle) Allow(n localapi.Notification, now time.Time) bool {
	if n.Kind == localapi.NotifyLoginRequested {
		return true
	}
	repeat, burst, window := t.Repeat, t.Burst, t.Window
	if repeat == 0 {
		repeat = 20 * time.Second
	}
	if burst == 0 {
		burst = 5
	}
	if window == 0 {
		window = time.Minute
	}
	key := string(n.Kind) + "|" + n.Reader + "|" + n.CardNumber + "|" + n.CertID + "|" + strconv.Itoa(n.Days)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	if at, ok := t.last[key]; ok && now.Sub(at) < repeat {
		return false
	}
	kept := t.sent[:0]
	for _, at := range t.sent {
		if now.Sub(at) < window {
			kept = append(kept, at)
		}
	}
	t.sent = kept
	if len(t.sent) >= burst {
		return false
	}
	t.sent = append(t.sent, now)
	t.last[key] = now
	for k, at := range t.last { // bounded by what a minute can hold
		if now.Sub(at) >= repeat && now.Sub(at) >= window {
			delete(t.last, k)
		}
	}
	return true
}
