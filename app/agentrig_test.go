package app_test

// A copy of agent_test's agent rig, for the use-case tests that run
// through an agent (bench, fault, soak).

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
	"github.com/sithseid/sithseid/internal/agenttest"
	"github.com/sithseid/sithseid/localapi"
)

// notes collects notifications.
type notes struct {
	mu   sync.Mutex
	list []localapi.Notification
	ch   chan struct{}
}

func newNotes() *notes { return &notes{ch: make(chan struct{}, 1)} }

func (n *notes) add(x localapi.Notification) {
	n.mu.Lock()
	n.list = append(n.list, x)
	n.mu.Unlock()
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

// wait returns the first notification of kind after index from.
func (n *notes) wait(t *testing.T, kind localapi.NotificationKind, from int) (localapi.Notification, int) {
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

func (n *notes) count(kind localapi.NotificationKind) int {
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

// syncBuffer is a log destination tests read while the agent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type agentRig struct {
	agent *agent.Agent
	addr  string
	notes *notes
	log   *syncBuffer
}

// startAgent runs an agent on a socket in a fresh directory until t ends.
func startAgent(t testing.TB, svc *app.Service, env environment.Environment, addr string) *agentRig {
	t.Helper()
	if addr == "" {
		addr = filepath.Join(t.TempDir(), "run", "agent.sock")
	}
	r := &agentRig{addr: addr, notes: newNotes(), log: &syncBuffer{}}
	r.agent, _ = agenttest.StartAgent(t, agent.Options{
		Service:     svc,
		Environment: env,
		Address:     addr,
		Notify:      r.notes.add,
		Log:         slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return r
}

func dial(t testing.TB, addr string) *localapi.Client { return agenttest.Dial(t, addr) }

// recorder is a client-side prompt that answers from a list and records
// what it was asked.
type recorder struct {
	mu      sync.Mutex
	asked   []app.PromptRequest
	answers []string
}

func (r *recorder) prompt(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, req)
	if len(r.answers) == 0 {
		return nil, app.ErrCancelled
	}
	a := r.answers[0]
	r.answers = r.answers[1:]
	return cardreader.NewSecret([]byte(a)), nil
}

// Status, PIN change (the prompt answered by the client), a wrong PIN, a
// blocked PIN, unblock and a login, all through the local API, driven by a
// client other than the agent. On every kind of card; where the kind has
// no PUK (IDPrime through OpenSC) the unblock is refused clearly with no
// try spent.
