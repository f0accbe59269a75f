package agent_test

import (
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/localapi"
)

func TestNotifyThrottle(t *testing.T) {
	var th agent.NotifyThrottle
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	in := localapi.Notification{Kind: localapi.NotifyCardInserted, Reader: "R0"}
	out := localapi.Notification{Kind: localapi.NotifyCardRemoved, Reader: "R0"}
	steps := []struct {
		n    localapi.Notification
		at   time.Duration
		want bool
	}{
		{in, 0, true},
		{out, time.Second, true},
		{in, 2 * time.Second, false}, // the same within 20 s: a wiggled card
		{out, 3 * time.Second, false},
		{in, 21 * time.Second, true},
		{localapi.Notification{Kind: localapi.NotifyCardInserted, Reader: "R1"}, 22 * time.Second, true},
		{localapi.Notification{Kind: localapi.NotifyPINBlocked, CardNumber: "1"}, 23 * time.Second, true},
		// five in the minute (0, 1, 21, 22, 23 s): the sixth is dropped,
		// unless it tells of a card's condition, which the agent raises
		// once and which would otherwise never be seen (issue 17)
		{localapi.Notification{Kind: localapi.NotifyCardInserted, Reader: "R2"}, 24 * time.Second, false},
		{localapi.Notification{Kind: localapi.NotifyPINBlocked, CardNumber: "2"}, 24 * time.Second, true},
		{localapi.Notification{Kind: localapi.NotifyCertificateExpiring, CardNumber: "2", CertID: "9a", Days: 7}, 25 * time.Second, true},
		{localapi.Notification{Kind: localapi.NotifyReserveCard, CardNumber: "2"}, 25 * time.Second, true},
		// the same condition again within 20 s, from another reader or a
		// day later in its count: not repeated
		{localapi.Notification{Kind: localapi.NotifyCertificateExpiring, Reader: "R1", CardNumber: "2", CertID: "9a", Days: 6}, 26 * time.Second, false},
		// a login request always shows: someone is waiting for it
		{localapi.Notification{Kind: localapi.NotifyLoginRequested, Handoff: "x"}, 26 * time.Second, true},
		// at 62 s the first two have left the minute
		{localapi.Notification{Kind: localapi.NotifyCertificateExpiring, CardNumber: "2", CertID: "9a", Days: 7}, 62 * time.Second, true},
		{localapi.Notification{Kind: localapi.NotifyPINBlocked, CardNumber: "2"}, 63 * time.Second, true},
		{localapi.Notification{Kind: localapi.NotifyCardRemoved, Reader: "R3"}, 64 * time.Second, false},
	}
	for i, s := range steps {
		if got := th.Allow(s.n, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s %s at %v): allowed %v, want %v", i, s.n.Kind, s.n.Reader, s.at, got, s.want)
		}
	}
}
