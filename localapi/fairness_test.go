package localapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// methodQuick is a test method answered at once, standing in for a status.
var methodQuick = Method[None, None]{"test.quick"}

// pidListener gives every connection the peer process its client claims
// by the name it bound ("pid-N-…"): one test process plays several
// peers. A client that bound no name is process def.
type pidListener struct {
	net.Listener
	def int
}

type pidConn struct {
	net.Conn
	pid int
}

func (c pidConn) PeerPID() int { return c.pid }

func (l pidListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pid := l.def
	if name := filepath.Base(c.RemoteAddr().String()); strings.HasPrefix(name, "pid-") {
		pid, _ = strconv.Atoi(strings.Split(name, "-")[1])
	}
	return pidConn{c, pid}, nil
}

// logRecords is a slog handler that hands each record's message and
// attributes to a channel.
type logRecords chan string

func (h logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h logRecords) WithGroup(string) slog.Handler            { return h }
func (h logRecords) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	h <- b.String()
	return nil
}

// fairServer serves methodHold (until release) and methodQuick with the
// default bounds unless srv sets others, on a socket whose connections
// carry the peer process their client claims (pidListener).
func fairServer(t *testing.T, srv *Server) (dir string, started <-chan struct{}, release func(), logs logRecords) {
	t.Helper()
	dir = t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	begun := make(chan struct{}, 4096)
	logs = make(logRecords, 4096)
	srv.Log = slog.New(logs)
	srv.Handlers = []Handler{
		Handle(methodHold, func(ctx context.Context, _ *Request, _ None) (None, error) {
			begun <- struct{}{}
			select {
			case <-gate:
			case <-ctx.Done():
			}
			return None{}, nil
		}),
		Handle(methodQuick, func(context.Context, *Request, None) (None, error) { return None{}, nil }),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, pidListener{ln, 1}); close(done) }()
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	return dir, begun, func() { close(gate) }, logs
}

// dialAs connects to the server in dir as process pid (the n-th
// connection of it).
func dialAs(t *testing.T, dir string, pid, n int) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.UnixAddr{Net: "unix", Name: filepath.Join(dir, fmt.Sprintf("pid-%d-%d", pid, n))}}
	c, err := d.Dial("unix", filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{c, bufio.NewReader(c)}
}

func (c *rawConn) callMethod(t *testing.T, id int, method string) {
	t.Helper()
	if _, err := fmt.Fprintf(c, `{"type":"call","id":%d,"method":%q}`+"\n", id, method); err != nil {
		t.Fatal(err)
	}
}

// expectLog waits for a log record containing every one of want.
func expectLog(t *testing.T, logs logRecords, want ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l := <-logs:
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l, w)
			}
			if ok {
				return l
			}
		case <-deadline:
			t.Fatalf("no log record with %q", want)
			return ""
		}
	}
}

// A program of the user's own that floods the local API from many
// connections (here 24 × 16 held calls, 384 in all, more than the agent's
// 256) holds at most its share (DefaultMaxCallsPerPeer); the rest is
// refused tooManyCalls at once, and another process's call is answered
// while the flood stays open. The flood is logged once, and its end once
// with the count.
func TestFloodLeavesRoomForOthers(t *testing.T) {
	dir, started, release, logs := fairServer(t, &Server{})
	const conns, perConn = 24, DefaultMaxCallsPerConn
	const flooder, other = 101, 202
	replies := make(chan string, conns*perConn)
	var flood []*rawConn
	for i := range conns {
		c := dialAs(t, dir, flooder, i)
		flood = append(flood, c)
		for id := 1; id <= perConn; id++ {
			c.call(t, id)
		}
		go func() {
			for {
				line, err := c.r.ReadBytes('\n')
				if err != nil {
					return
				}
				replies <- string(line)
			}
		}()
	}
	// Every flood call is either running or refused.
	running, refused := 0, 0
	deadline := time.After(20 * time.Second)
	for running+refused < conns*perConn {
		select {
		case <-started:
			running++
		case r := <-replies:
			if !strings.Contains(r, `"tooManyCalls"`) {
				t.Fatalf("a flood call was answered %s while held", r)
			}
			refused++
		case <-deadline:
			t.Fatalf("flood: %d running, %d refused of %d", running, refused, conns*perConn)
		}
	}
	t.Logf("flood of %d calls: %d running, %d refused", conns*perConn, running, refused)
	if running > DefaultMaxCallsPerPeer {
		t.Errorf("one process holds %d calls, want at most %d", running, DefaultMaxCallsPerPeer)
	}

	// Another process (the tray's window, `sithseid status`) is served.
	v := dialAs(t, dir, other, 0)
	v.callMethod(t, 1, "test.quick")
	_ = v.SetReadDeadline(time.Now().Add(5 * time.Second))
	if id, code := v.reply(t); id != 1 || code != "" {
		t.Fatalf("another process's call during the flood: reply %d %q, want 1 answered", id, code)
	}
	// Held calls of its own too: its room is not the flooder's.
	for id := 2; id <= 9; id++ {
		v.call(t, id)
	}
	wait(t, started, 8)

	expectLog(t, logs, "local API flood", "pid=101", "too many local API calls")
	release()
	for _, c := range flood {
		c.Close()
	}
	expectLog(t, logs, "flood over", "pid=101", fmt.Sprintf("refused=%d", refused))
	select {
	case l := <-logs:
		t.Errorf("more logged about the flood than its start and end: %s", l)
	default:
	}
}

// Connections from one process beyond MaxConnsPerPeer are answered
// tooManyConnections and closed at once; other processes still connect,
// and once the process closes one it may open another. A Client on such a
// connection says why.
func TestConnsPerPeerBounded(t *testing.T) {
	dir, _, _, logs := fairServer(t, &Server{MaxConnsPerPeer: 3})
	var open []*rawConn
	for i := range 3 {
		c := dialAs(t, dir, 7, i)
		c.callMethod(t, 1, "test.quick")
		if _, code := c.reply(t); code != "" {
			t.Fatalf("connection %d of 3: %q", i, code)
		}
		open = append(open, c)
	}
	over := dialAs(t, dir, 7, 3)
	if id, code := over.reply(t); id != protocolErrorID || code != "tooManyConnections" {
		t.Fatalf("4th connection of a process: reply %d %q, want tooManyConnections", id, code)
	}
	if _, err := over.r.ReadByte(); err == nil {
		t.Fatal("the 4th connection stayed open")
	}
	expectLog(t, logs, "local API flood", "pid=7", "too many local API connections")

	// A Client (process 1, the listener's default) is served, and its 4th
	// connection is told why not.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialAddress(ctx, filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.call(ctx, "test.quick", None{}, nil, Handlers{}); err != nil {
		t.Fatalf("another process: %v", err)
	}
	for range 2 {
		c, err := DialAddress(ctx, filepath.Join(dir, "api.sock"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	c4, err := DialAddress(ctx, filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	if err := c4.call(ctx, "test.quick", None{}, nil, Handlers{}); !errors.Is(err, ErrTooManyConnections) {
		t.Fatalf("a Client over the bound: %v, want ErrTooManyConnections", err)
	}

	// Process 7 closes one and may connect again (once the agent saw it go).
	open[0].Close()
	for n := 4; ; n++ {
		c := dialAs(t, dir, 7, n)
		c.callMethod(t, 1, "test.quick")
		id, code := c.reply(t)
		if code == "" && id == 1 {
			break
		}
		if code != "tooManyConnections" || n > 1000 {
			t.Fatalf("after closing one: %d %q", id, code)
		}
	}
}

// A flood's burst is over once the process has its call taken burstQuiet
// after its latest refusal: one line then, with the count; a call taken
// sooner (the flood still going, its calls ending and starting) logs
// nothing, and a refusal after the end starts a new burst, logged again.
func TestFloodBurstLoggedOnce(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	srv := &Server{MaxCallsPerConn: 2, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	dir, _, _, logs := fairServer(t, srv)
	c := dialAs(t, dir, 9, 0)
	c.call(t, 1)
	c.call(t, 2)
	for id := 3; id <= 6; id++ {
		c.call(t, id)
		if rid, code := c.reply(t); rid != uint64(id) || code != "tooManyCalls" {
			t.Fatalf("call %d over the bound: %d %q", id, rid, code)
		}
	}
	expectLog(t, logs, "local API flood", "pid=9")
	// A call taken within burstQuiet of the latest refusal: still the
	// same burst.
	advance(burstQuiet - time.Second)
	cancelCall(t, c, 1)
	if id, _ := c.reply(t); id != 1 {
		t.Fatalf("reply to %d, want the cancelled call 1", id)
	}
	c.callMethod(t, 7, "test.quick")
	if id, code := c.reply(t); id != 7 || code != "" {
		t.Fatalf("a call with room: %d %q", id, code)
	}
	select {
	case l := <-logs:
		t.Fatalf("logged within the burst: %s", l)
	default:
	}
	advance(burstQuiet)
	c.callMethod(t, 8, "test.quick")
	if id, code := c.reply(t); id != 8 || code != "" {
		t.Fatalf("a call after the burst: %d %q", id, code)
	}
	expectLog(t, logs, "flood over", "pid=9", "refused=4")
	c.call(t, 9)
	c.call(t, 10)
	if id, code := c.reply(t); id != 10 || code != "tooManyCalls" {
		t.Fatalf("a call over the bound again: %d %q", id, code)
	}
	expectLog(t, logs, "local API flood", "pid=9")
}

// cancelCall cancels call id on c.
func cancelCall(t *testing.T, c *rawConn, id int) {
	t.Helper()
	if _, err := fmt.Fprintf(c, `{"type":"cancel","id":%d}`+"\n", id); err != nil {
		t.Fatal(err)
	}
}

// A client that sends its next call as soon as it reads a reply finds the
// room of the answered call given back: the server ends a call before it
// replies (a bound of 1 call per connection, so any overlap is refused;
// the flood test failed so once under -race).
func TestNextCallAfterReplyHasRoom(t *testing.T) {
	dir, _, _, _ := fairServer(t, &Server{MaxCallsPerConn: 1})
	c := dialAs(t, dir, 5, 0)
	for id := 1; id <= 1000; id++ {
		c.callMethod(t, id, "test.quick")
		if rid, code := c.reply(t); rid != uint64(id) || code != "" {
			t.Fatalf("call %d right after the previous reply: %d %q", id, rid, code)
		}
	}
}
