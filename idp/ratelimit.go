package idp

import (
	"math"
	"sync"
	"time"
)

// rateLimiter is a set of token buckets, one per key (an RP API key's hash
// or a client IP). Each bucket holds at most burst tokens and refills at
// rate tokens per second; a request takes one token. Idle full buckets are
// dropped so memory stays bounded by the number of recently active keys.
type rateLimiter struct {
	rate  float64 // tokens per second; <= 0 disables the limiter
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastPurge time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets caps the map even under a flood of distinct keys (spoofed
// sources cannot create TCP connections, but IPv6 gives a client many
// addresses). Past the cap, unknown keys share one overflow bucket.
const maxBuckets = 100_000

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	if burst < 1 {
		burst = 1
	}
	return &rateLimiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for key. When none is left it returns false and how
// long until one will be (for Retry-After).
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.purgeLocked(now)
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			key = "\x00overflow"
			b = l.buckets[key]
		}
		if b == nil {
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[key] = b
		}
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// purgeLocked drops buckets that have refilled completely: forgetting them
// changes nothing, since a new bucket starts full.
func (l *rateLimiter) purgeLocked(now time.Time) {
	if now.Sub(l.lastPurge) < 10*time.Second && len(l.buckets) < maxBuckets {
		return
	}
	l.lastPurge = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
}

// size reports the number of live buckets (tests check the purge).
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
