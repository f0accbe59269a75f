package tray

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/dbustest"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Desktop notifications over org.freedesktop.Notifications: nothing
// happens (but a log line) while no server answers; once one does, the
// messages arrive, urgent ones marked so, and a message of the same group
// replaces the one before it.
func TestNotifierOverDBus(t *testing.T) {
	bus := dbustest.SessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	var log logBuf
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := NewNotifier(ctx, slog.New(slog.NewTextHandler(&log, nil)))

	n.Show(Message{Summary: "unseen", Body: "no server yet", Group: "card"})
	host := dbustest.NewHost(t, bus)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log.String(), "desktop notification not shown"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the notifier did not say within 10 s that no server answered:\n%s", log.String())
		}
	}

	host.ServeNotifications(t)
	n.Show(Message{Summary: "SITHS-kort isatt", Body: "Kortläsare: R0", Group: "card"})
	n.Show(Message{Summary: "SITHS-kort borttaget", Body: "Kortläsare: R0", Group: "card"})
	n.Show(Message{Summary: "PIN-koden är låst", Body: "Kort 1", Urgent: true, Group: "pin"})
	host.WaitFor(t, "three notifications", func() bool { return len(host.Notes()) == 3 })
	notes := host.Notes()
	if notes[0].Summary != "SITHS-kort isatt" || notes[0].Replaces != 0 || notes[0].Urgency != 1 {
		t.Errorf("first %+v", notes[0])
	}
	if notes[1].Summary != "SITHS-kort borttaget" || notes[1].Replaces != 1 {
		t.Errorf("second %+v: want it to replace notification 1", notes[1])
	}
	if notes[2].Urgency != 2 || notes[2].Replaces != 0 {
		t.Errorf("PIN blocked %+v: want urgency 2 (critical), a group of its own", notes[2])
	}
}
