package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// methodHold is a test method whose calls stay in flight until released.
var methodHold = Method[None, None]{"test.hold"}

// holdServer serves methodHold on a Unix socket of the test's own; each
// call waits for release (or its cancellation).
func holdServer(t *testing.T, perConn, total int) (addr string, started <-chan struct{}, release func()) {
	t.Helper()
	addr = filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	begun := make(chan struct{}, 100)
	srv := &Server{MaxCallsPerConn: perConn, MaxCalls: total, Handlers: []Handler{
		Handle(methodHold, func(ctx context.Context, _ *Request, _ None) (None, error) {
			begun <- struct{}{}
			select {
			case <-gate:
			case <-ctx.Done():
			}
			return None{}, nil
		}),
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return addr, begun, func() { close(gate) }
}

// wait waits for n calls to have started.
func wait(t *testing.T, started <-chan struct{}, n int) {
	t.Helper()
	for range n {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("a call did not start")
		}
	}
}

type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{c, bufio.NewReader(c)}
}

func (c *rawConn) call(t *testing.T, id int) {
	t.Helper()
	if _, err := fmt.Fprintf(c, `{"type":"call","id":%d,"method":"test.hold"}`+"\n", id); err != nil {
		t.Fatal(err)
	}
}

// reply reads one reply frame: its id and error code ("" for success).
func (c *rawConn) reply(t *testing.T) (uint64, string) {
	t.Helper()
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading a reply: %v", err)
	}
	var f struct {
		ID    uint64     `json:"id"`
		Error *WireError `json:"error"`
	}
	if err := json.Unmarshal(line, &f); err != nil {
		t.Fatal(err)
	}
	if f.Error == nil {
		return f.ID, ""
	}
	return f.ID, f.Error.Code
}

// Calls over the bound of one connection, or of the whole server, are
// refused at once with tooManyCalls and never started; once calls end,
// new ones are taken again.
func TestCallsInFlightBounded(t *testing.T) {
	t.Run("per connection", func(t *testing.T) {
		addr, _, release := holdServer(t, 3, 100)
		c := dialRaw(t, addr)
		for id := 1; id <= 3; id++ {
			c.call(t, id)
		}
		c.call(t, 4)
		if id, code := c.reply(t); id != 4 || code != "tooManyCalls" {
			t.Fatalf("4th call in flight: reply %d %q, want 4 tooManyCalls", id, code)
		}
		// Another connection still has its own room.
		d := dialRaw(t, addr)
		d.call(t, 1)
		release()
		got := map[uint64]string{}
		for range 3 {
			id, code := c.reply(t)
			got[id] = code
		}
		for id := uint64(1); id <= 3; id++ {
			if code, ok := got[id]; !ok || code != "" {
				t.Errorf("held call %d: %q (replied %v)", id, code, ok)
			}
		}
		if id, code := d.reply(t); id != 1 || code != "" {
			t.Errorf("other connection's call: %d %q", id, code)
		}
		c.call(t, 5)
		if id, code := c.reply(t); id != 5 || code != "" {
			t.Errorf("a call after the others ended: %d %q", id, code)
		}
	})
	t.Run("server-wide", func(t *testing.T) {
		addr, started, release := holdServer(t, 10, 4)
		a, b := dialRaw(t, addr), dialRaw(t, addr)
		a.call(t, 1)
		a.call(t, 2)
		wait(t, started, 2) // a's calls hold their slots before b asks
		b.call(t, 1)
		b.call(t, 2)
		b.call(t, 3)
		if id, code := b.reply(t); id != 3 || code != "tooManyCalls" {
			t.Fatalf("5th call on the server: %d %q, want 3 tooManyCalls", id, code)
		}
		release()
		for _, c := range []*rawConn{a, a, b, b} {
			if _, code := c.reply(t); code != "" {
				t.Errorf("held call: %q", code)
			}
		}
	})
}

// Frames are decoded with exact names: a name in another case, or one given
// twice (encoding/json alone takes the first case-insensitively and lets
// the last repeat win), is a protocol error that ends the connection, at
// the top level and in a method's params.
func TestFrameNamesExact(t *testing.T) {
	addr, _, release := holdServer(t, 10, 10)
	for name, frame := range map[string]string{
		"case-folded key":  `{"type":"call","id":1,"Method":"test.hold"}`,
		"repeated key":     `{"type":"call","id":1,"method":"ping","method":"test.hold"}`,
		"case-folded type": `{"Type":"call","id":1,"method":"test.hold"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if _, err := fmt.Fprintln(c, frame); err != nil {
				t.Fatal(err)
			}
			if _, code := c.reply(t); code != "protocol" {
				t.Fatalf("reply code %q, want protocol", code)
			}
			if _, err := c.r.ReadByte(); err == nil {
				t.Fatal("the connection stayed open after a protocol error")
			}
		})
	}
	// The same frame with exact, single names is served.
	c := dialRaw(t, addr)
	c.call(t, 7)
	release()
	if id, code := c.reply(t); id != 7 || code != "" {
		t.Fatalf("a well-formed call: %d %q", id, code)
	}
}

// A method's params are decoded as strictly as the frame around them.
func TestParamsNamesExact(t *testing.T) {
	for _, raw := range []string{
		`{"pin":"signature","pin":"identification"}`,
		`{"PIN":"signature"}`,
	} {
		if _, err := MethodPINChange.Decode(json.RawMessage(raw)); !errors.Is(err, ErrProtocol) {
			t.Errorf("params %s: %v, want a protocol error", raw, err)
		}
	}
	if p, err := MethodPINChange.Decode(json.RawMessage(`{"pin":"signature"}`)); err != nil || p.PIN != "signature" {
		t.Errorf("well-formed params: %+v %v", p, err)
	}
}
