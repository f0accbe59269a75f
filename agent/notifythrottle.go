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

// condition reports whether kind tells of a condition of the card (PIN
// blocked, a certificate expiring, more than six certificates, a reserve
// card): the agent raises each once per condition, not per insertion, so
// one held back by the burst limit would never be seen. They are never
// held back by it (they count towards it), only repeated ones are.
func condition(kind localapi.NotificationKind) bool {
	switch kind {
	case localapi.NotifyPINBlocked, localapi.NotifyCertificateExpiring,
		localapi.NotifyTooManyCertificates, localapi.NotifyReserveCard:
		return true
	}
	return false
}

// Allow reports whether n may be shown at now, and counts it if so. A
// login request is always allowed: the user is waiting for it; a card's
// condition is allowed unless the same was shown within Repeat.
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
	if condition(n.Kind) {
		// The condition, whichever reader the card is in.
		key = string(n.Kind) + "|" + n.CardNumber + "|" + n.CertID
	}
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
	if len(t.sent) >= burst && !condition(n.Kind) {
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
