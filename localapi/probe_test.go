package localapi

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/mutesock"
)

// serve runs srv on a Unix socket of the test's own until the test ends.
func serve(t *testing.T, srv *Server) string {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return addr
}

func dialClient(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := DialAddress(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// After Probe, a call goes out beside the ping, not a round trip after
// it: here the agent answers the ping only once the call has reached it,
// which a client that waited for the ping's answer first never sees (its
// probe would run out: ErrUnresponsive).
func TestProbeSendsTheCallBesideThePing(t *testing.T) {
	callBegun := make(chan struct{})
	addr := serve(t, &Server{Handlers: []Handler{
		Handle(MethodPing, func(ctx context.Context, _ *Request, _ None) (AgentInfo, error) {
			select {
			case <-callBegun:
			case <-ctx.Done():
			}
			return AgentInfo{Version: "test"}, nil
		}),
		Handle(methodHold, func(context.Context, *Request, None) (None, error) {
			close(callBegun)
			return None{}, nil
		}),
	}})
	c := dialClient(t, addr)
	c.Probe(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Call(ctx, c, methodHold, None{}, Handlers{}); err != nil {
		t.Fatalf("call after Probe: %v", err)
	}
}

// An agent that takes the connection and answers nothing: the call
// returns ErrUnresponsive once the probe's time is up, having asked for
// no secret, and the connection is closed, so the agent would read the
// end right after the ping and the call.
func TestProbeUnanswered(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "api.sock")
	got := mutesock.Listen(t, addr, 10*time.Second)
	c := dialClient(t, addr)
	start := time.Now()
	c.Probe(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prompted := false
	err := c.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, func(context.Context, app.PromptRequest) (*cardreader.Secret, error) {
		prompted = true
		return nil, errors.New("no prompt expected")
	})
	if !errors.Is(err, ErrUnresponsive) || !errors.Is(err, ErrNoAgent) {
		t.Fatalf("got %v, want ErrUnresponsive", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ErrUnresponsive after %v, want about the probe's 200 ms", d)
	}
	if prompted {
		t.Error("prompted")
	}
	select {
	case lines := <-got:
		if len(lines) != 2 || !strings.Contains(lines[0], `"method":"ping"`) || !strings.Contains(lines[1], `"method":"`+MethodPINChange.Name+`"`) {
			t.Errorf("the agent read %q, want the ping, the call, then the end", lines)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the fake agent never saw the connection end")
	}
}

// An agent that refuses the connection (one process over its share):
// the call returns ErrUnresponsive with the refusal, as the ping before
// the call used to fail and leave the command to run in-process.
func TestProbeRefused(t *testing.T) {
	addr := serve(t, &Server{MaxConnsPerPeer: 1, Handlers: []Handler{
		Handle(MethodPing, func(context.Context, *Request, None) (AgentInfo, error) { return AgentInfo{}, nil }),
		Handle(methodHold, func(context.Context, *Request, None) (None, error) { return None{}, nil }),
	}})
	first := dialClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := first.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	c := dialClient(t, addr)
	c.Probe(5 * time.Second)
	_, err := Call(ctx, c, methodHold, None{}, Handlers{})
	if !errors.Is(err, ErrUnresponsive) || !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("got %v, want ErrUnresponsive wrapping ErrTooManyConnections", err)
	}
}
