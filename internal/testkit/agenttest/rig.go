package agenttest

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/localapi"
)

// Notes collects an agent's notifications.
type Notes struct {
	mu   sync.Mutex
	list []localapi.Notification
	ch   chan struct{}
}

// NewNotes is an empty collection.
func NewNotes() *Notes { return &Notes{ch: make(chan struct{}, 1)} }

// Add is an agent's Notify.
func (n *Notes) Add(x localapi.Notification) {
	n.mu.Lock()
	n.list = append(n.list, x)
	n.mu.Unlock()
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

// Wait returns the first notification of kind after index from (10 s at
// most) and the index after it.
func (n *Notes) Wait(t testing.TB, kind localapi.NotificationKind, from int) (localapi.Notification, int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		n.mu.Lock()
		for i := from; i < len(n.list); i++ {
			if n.list[i].Kind == kind {
				x := n.list[i]
				n.mu.Unlock()
				return x, i + 1
			}
		}
		n.mu.Unlock()
		select {
		case <-n.ch:
		case <-deadline:
			t.Fatalf("no %s notification within 10 s", kind)
		}
	}
}

// Count counts the notifications of kind.
func (n *Notes) Count(kind localapi.NotificationKind) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, x := range n.list {
		if x.Kind == kind {
			c++
		}
	}
	return c
}

// SyncBuffer is a log destination tests read while the agent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Reset empties the buffer.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// Rig is an agent in the test with its notifications and its log.
type Rig struct {
	Agent *agent.Agent
	Addr  string
	Notes *Notes
	Log   *SyncBuffer
}

// StartRig runs an agent of svc in env on addr ("" = a socket in a fresh
// directory) until t ends, its notifications collected and its log at
// debug level kept.
func StartRig(t testing.TB, svc *app.Service, env environment.Environment, addr string) *Rig {
	t.Helper()
	return StartRigWith(t, svc, env, addr, nil)
}

// StartRigWith is StartRig with adjust (nil: none) applied to the agent's
// options first: a benchmark that hands over more login links than a
// person would lifts the rate limit (HandoffBurst).
func StartRigWith(t testing.TB, svc *app.Service, env environment.Environment, addr string, adjust func(*agent.Options)) *Rig {
	t.Helper()
	if addr == "" {
		addr = filepath.Join(t.TempDir(), "run", "agent.sock")
	}
	r := &Rig{Addr: addr, Notes: NewNotes(), Log: &SyncBuffer{}}
	opts := agent.Options{
		Service:     svc,
		Environment: env,
		Address:     addr,
		Notify:      r.Notes.Add,
		Log:         slog.New(slog.NewTextHandler(r.Log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if adjust != nil {
		adjust(&opts)
	}
	r.Agent, _ = StartAgent(t, opts)
	return r
}

// Recorder is a client-side prompt that answers from a list and records
// what it was asked.
type Recorder struct {
	mu      sync.Mutex
	Asked   []app.PromptRequest
	Answers []string
}

// Prompt is the recorder as an app.Prompt.
func (r *Recorder) Prompt(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Asked = append(r.Asked, req)
	if len(r.Answers) == 0 {
		return nil, app.ErrCancelled
	}
	a := r.Answers[0]
	r.Answers = r.Answers[1:]
	return cardreader.NewSecret([]byte(a)), nil
}
