// Package wait is how a test waits for something to happen: for a value on
// a channel, or for a condition to hold, always with a deadline, so that a
// lost event fails the test in seconds instead of hanging it to go test's
// -timeout, and never with a fixed sleep that assumes how long the event
// takes (a loaded machine makes every such guess wrong).
package wait

import (
	"testing"
	"time"
)

// Poll is how often For checks its condition.
const Poll = 10 * time.Millisecond

// Recv returns the next value received from ch (the zero value once ch is
// closed), or fails tb when nothing arrives within d. what names the event
// in the failure.
func Recv[T any](tb testing.TB, ch <-chan T, d time.Duration, what string) T {
	tb.Helper()
	v, ok := TryRecv(ch, d)
	if !ok {
		tb.Fatalf("%s: nothing after %v", what, d)
	}
	return v
}

// TryRecv is Recv that reports a timeout instead of failing, for code that
// has no testing.TB or must clean up first; ok is false after d.
func TryRecv[T any](ch <-chan T, d time.Duration) (v T, ok bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v = <-ch:
		return v, true
	case <-timer.C:
		return v, false
	}
}

// For calls cond every Poll until it returns true, or fails tb when it
// still does not after d. what names the condition in the failure.
func For(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Until(d, cond) {
		tb.Fatalf("%s: not after %v", what, d)
	}
}

// Until is For that reports the outcome instead of failing.
func Until(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(Poll)
	}
}
