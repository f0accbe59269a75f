package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

// Server serves the local API: connections, frames, prompts crossing to the
// caller, cancellation. What each method does is its Handler's, one per
// method of the table (methods.go), the way tailscale's ipn/localapi maps
// names to handlers.
type Server struct {
	// Handlers are the methods served.
	Handlers []Handler
	// Begin, when set, is called as a card operation (a handler marked
	// CardOp) starts; the function it returns, as it ends.
	Begin func(method string) (end func(error))
	// Log receives refused connections and protocol errors (never a frame
	// or a secret); nil discards.
	Log *slog.Logger
	// MaxCallsPerConn and MaxCalls bound the calls in flight on one
	// connection and on the whole server (0: DefaultMaxCallsPerConn,
	// DefaultMaxCalls). A call over either bound is answered
	// ErrTooManyCalls at once and not started: a client that sends calls
	// and never reads the replies holds at most that many goroutines and
	// frames, not one per call (100k unread pings once took the agent from
	// 232 MB to 1 GB).
	MaxCallsPerConn, MaxCalls int
	// MaxCallsPerPeer and MaxConnsPerPeer bound the calls in flight and
	// the connections open of one peer process, over all its connections
	// (0: DefaultMaxCallsPerPeer, DefaultMaxConnsPerPeer), so that one
	// flooding program cannot hold the calls the user's other clients
	// need (fairness.go). A call over the bound is answered
	// ErrTooManyCalls, a connection ErrTooManyConnections, at once.
	MaxCallsPerPeer, MaxConnsPerPeer int

	mu    sync.Mutex
	calls int              // calls in flight, server-wide
	peers map[int]*peer    // by pid, the peers with a connection open
	now   func() time.Time // nil: time.Now (tests move it)
}

// Default bounds on calls in flight: far above what the windows, the tray
// and the CLI ever have open (a subscription, a prompt, a status or two).
const (
	DefaultMaxCallsPerConn = 16
	DefaultMaxCalls        = 256
)

func (s *Server) maxPerConn() int {
	if s.MaxCallsPerConn <= 0 {
		return DefaultMaxCallsPerConn
	}
	return s.MaxCallsPerConn
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Serve accepts connections on ln until it is closed or ctx ends; then it
// closes the connections, cancelling what runs on them, and returns once
// they are done.
func (s *Server) Serve(ctx context.Context, ln net.Listener) {
	var (
		wg    sync.WaitGroup
		conns sync.Map // *serverConn
	)
	defer func() {
		conns.Range(func(k, _ any) bool {
			k.(*serverConn).close()
			return true
		})
		wg.Wait()
	}()
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, ErrPeerRefused) {
				s.log().Warn("local API connection refused", "err", err)
				continue
			}
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log().Info("local API accept", "err", err)
			// A transient accept error (EMFILE): let the next one decide,
			// but do not spin.
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		p, err := s.join(peerOf(rwc))
		if err != nil {
			// Refused at once, with the reason, not left to wait.
			wg.Add(1)
			go func() {
				defer wg.Done()
				refuse(rwc, err)
			}()
			continue
		}
		c := &serverConn{s: s, rwc: rwc, peer: p, calls: map[uint64]*serverCall{}}
		c.ctx, c.cancel = context.WithCancel(ctx)
		conns.Store(c, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns.Delete(c)
			defer s.leave(p)
			c.run()
		}()
	}
}

// refuse answers a connection that is over a bound with err and closes
// it; a client that does not read within a second is closed all the same.
func refuse(rwc io.ReadWriteCloser, err error) {
	if d, ok := rwc.(interface{ SetWriteDeadline(time.Time) error }); ok {
		_ = d.SetWriteDeadline(time.Now().Add(time.Second))
	}
	if b, eerr := encodeFrame(&frame{Type: frameReply, ID: protocolErrorID, Error: ToWire(err)}); eerr == nil {
		_, _ = rwc.Write(b)
	}
	_ = rwc.Close()
}

// Handler is one method of the local API on the agent's side (Handle).
type Handler struct {
	name   string
	op     bool
	stream bool
	decode func(json.RawMessage) (func(context.Context, *Request) (any, error), error)
}

// Handle makes the handler of m: one generic, strict decode of m's params,
// then f with them.
func Handle[P, R any](m Method[P, R], f func(context.Context, *Request, P) (R, error)) Handler {
	return Handler{name: m.Name, decode: func(raw json.RawMessage) (func(context.Context, *Request) (any, error), error) {
		p, err := m.Decode(raw)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *Request) (any, error) {
			r, err := f(ctx, c, p)
			return m.Result(r), err
		}, nil
	}}
}

// CardOp marks h as a card operation: Server.Begin sees it, its failure is
// logged.
func (h Handler) CardOp() Handler { h.op = true; return h }

// Stream marks h as a method that answers with events (Call.Send) until it
// returns; the reply then carries its error only.
func (h Handler) Stream() Handler { h.stream = true; return h }

// Request is a call in progress, for its handler: it asks the caller for
// secrets and approvals, and streams events.
type Request struct {
	c      *serverConn
	call   *serverCall
	hungUp bool
}

// Prompt is the Prompt the Service sees for this call: the question
// crosses to the client, the secret comes back and belongs to the
// operation, which wipes it.
func (x *Request) Prompt() app.Prompt { return x.c.prompt(x.call) }

// Approve asks the caller to approve a login.
func (x *Request) Approve() func(context.Context, app.LoginApproval) error {
	return x.c.approve(x.call)
}

// Send pushes one event of a stream to the caller.
func (x *Request) Send(ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := x.c.write(&frame{Type: frameEvent, ID: x.call.id, Result: b}); err != nil {
		x.Hangup()
		return err
	}
	return nil
}

// Hangup ends the call's connection (a subscriber that fell behind); the
// call gets no reply.
func (x *Request) Hangup() {
	x.hungUp = true
	x.c.close()
}

func (s *Server) handler(name string) (Handler, bool) {
	for _, h := range s.Handlers {
		if h.name == name {
			return h, true
		}
	}
	return Handler{}, false
}

// methodList names the methods, for an unknown method's error.
func (s *Server) methodList() string {
	names := make([]string, len(s.Handlers))
	for i, h := range s.Handlers {
		names[i] = h.name
	}
	return strings.Join(names, ", ")
}

// serverConn is one client connection.
type serverConn struct {
	s      *Server
	rwc    io.ReadWriteCloser
	peer   *peer // the process at the other end, for the bounds
	ctx    context.Context
	cancel context.CancelFunc

	wmu sync.Mutex // one frame at a time on the wire

	mu    sync.Mutex
	calls map[uint64]*serverCall
	wg    sync.WaitGroup
	once  sync.Once
}

// serverCall is one operation in flight on a connection.
type serverCall struct {
	id      uint64
	cancel  context.CancelFunc
	answers chan frame
	seq     uint64
	ended   bool // endCall ran: the call's room is given back
	// choose is the Choose of the call's login approval: the eID the
	// client picked crosses in the approval's and the PIN's answers.
	choose func(hsaID string)
}

func (c *serverConn) close() {
	c.once.Do(func() {
		c.cancel()
		_ = c.rwc.Close()
	})
}

func (c *serverConn) run() {
	lr := newLineReader(c.rwc)
	defer func() {
		c.close()
		c.wg.Wait()
		lr.wipe()
	}()
	for {
		f, err := readFrame(lr, true)
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				// Say why before hanging up; the frame itself is not logged.
				c.s.log().Warn("local API client broke the protocol", "err", err)
				_ = c.write(&frame{Type: frameReply, ID: protocolErrorID, Error: ToWire(err)})
			}
			return
		}
		switch f.Type {
		case frameCall:
			c.mu.Lock()
			_, dup := c.calls[f.ID]
			var full error
			if !dup {
				full = c.s.acquire(c.peer, len(c.calls))
			}
			if !dup && full == nil {
				ctx, cancel := context.WithCancel(c.ctx)
				call := &serverCall{id: f.ID, cancel: cancel, answers: make(chan frame, 1)}
				c.calls[f.ID] = call
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					c.handle(ctx, call, f)
				}()
			}
			c.mu.Unlock()
			switch {
			case dup:
				_ = c.write(&frame{Type: frameReply, ID: f.ID, Error: ToWire(fmt.Errorf("%w: id %d in use", ErrProtocol, f.ID))})
				return
			case full != nil:
				// Refused, not queued: the reply is small, and a client
				// that reads none of them stalls on its own socket.
				f.wipe()
				if c.write(&frame{Type: frameReply, ID: f.ID, Error: ToWire(fmt.Errorf("method %q: %w", f.Method, full))}) != nil {
					return
				}
			}
		case frameAnswer:
			c.mu.Lock()
			call := c.calls[f.ID]
			c.mu.Unlock()
			if call == nil {
				f.wipe()
				continue
			}
			select {
			case call.answers <- f:
			default:
				f.wipe() // nothing asked for it
			}
		case frameCancel:
			c.mu.Lock()
			if call := c.calls[f.ID]; call != nil {
				call.cancel()
			}
			c.mu.Unlock()
		}
	}
}

func (c *serverConn) write(f *frame) error {
	b, err := encodeFrame(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.rwc.Write(b)
	return err
}

// reply ends call, then sends its reply: a client that sends its next call
// as soon as it reads this one's reply finds the room already given back.
func (c *serverConn) reply(call *serverCall, result any, err error) {
	c.endCall(call)
	f := &frame{Type: frameReply, ID: call.id, Error: ToWire(err)}
	if err == nil && result != nil {
		b, merr := json.Marshal(result)
		if merr != nil {
			f.Error = ToWire(merr)
		} else {
			f.Result = b
		}
	}
	if werr := c.write(f); werr != nil {
		c.close()
	}
}

// endCall forgets call and gives its room back, once; answers still queued
// for it are wiped.
func (c *serverConn) endCall(call *serverCall) {
	call.cancel()
	c.mu.Lock()
	ended := call.ended
	call.ended = true
	if c.calls[call.id] == call { // the client may reuse the id once it has the reply
		delete(c.calls, call.id)
	}
	c.mu.Unlock()
	if !ended {
		c.s.release(c.peer)
	}
	for {
		select {
		case f := <-call.answers:
			f.wipe()
		default:
			return
		}
	}
}

// ask sends a prompt frame to the client that started call and waits for
// its answer.
func (c *serverConn) ask(ctx context.Context, call *serverCall, p wirePrompt) (frame, error) {
	c.mu.Lock()
	call.seq++
	seq := call.seq
	c.mu.Unlock()
	if err := c.write(&frame{Type: framePrompt, ID: call.id, Seq: seq, Prompt: &p}); err != nil {
		return frame{}, fmt.Errorf("asking the client: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return frame{}, ctx.Err()
		case f := <-call.answers:
			if f.Seq != seq {
				f.wipe()
				continue
			}
			if f.Error != nil {
				f.wipe()
				return frame{}, fromWire(f.Error)
			}
			return f, nil
		}
	}
}

// prompt is the Prompt the Service sees for an operation started on this
// connection: the question crosses to the client, the secret comes back and
// belongs to the operation, which wipes it.
func (c *serverConn) prompt(call *serverCall) app.Prompt {
	return func(ctx context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		f, err := c.ask(ctx, call, wirePrompt{
			Kind: promptKindToWire(req.Kind), PIN: string(req.PIN), Retries: req.Retries,
			Holder: req.Holder, HSAID: req.HSAID, CardNumber: req.CardNumber,
		})
		if err != nil {
			return nil, err
		}
		s := cardreader.NewSecret(f.Secret) // takes ownership of the bytes
		if f.EID != "" && call.choose != nil {
			call.choose(f.EID)
		}
		return s, nil
	}
}

func (c *serverConn) approve(call *serverCall) func(context.Context, app.LoginApproval) error {
	return func(ctx context.Context, la app.LoginApproval) error {
		call.choose = la.Choose
		f, err := c.ask(ctx, call, wirePrompt{Kind: promptApprove, Retries: -1,
			Holder: la.Holder, HSAID: la.HSAID, CardNumber: la.CardNumber, Approval: &la})
		if err != nil {
			return err
		}
		f.wipe()
		if !f.Approved {
			return app.ErrCancelled
		}
		if f.EID != "" {
			la.Choose(f.EID) // the eID the user picked (issue 15)
		}
		return nil
	}
}

// handle runs one call and replies.
func (c *serverConn) handle(ctx context.Context, call *serverCall, f frame) {
	defer c.endCall(call)
	s := c.s
	h, ok := s.handler(f.Method)
	if !ok {
		c.reply(call, nil, fmt.Errorf("%q (want one of %s): %w", f.Method, s.methodList(), ErrUnknownMethod))
		return
	}
	run, err := h.decode(f.Params)
	if err != nil {
		c.reply(call, nil, err)
		return
	}
	x := &Request{c: c, call: call}
	switch {
	case h.stream:
		_, err := run(ctx, x)
		if !x.hungUp {
			c.reply(call, nil, err)
		}
	case h.op:
		end := func(error) {}
		if s.Begin != nil {
			end = s.Begin(f.Method)
		}
		res, err := run(ctx, x)
		end(err)
		if err != nil {
			s.log().Info("operation failed", "method", f.Method, "err", err)
		}
		c.reply(call, res, err)
	default:
		res, err := run(ctx, x)
		c.reply(call, res, err)
	}
}
