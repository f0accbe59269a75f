package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/localapi"
)

// serve accepts local API connections until the listener closes.
func (a *Agent) serve(ctx context.Context) {
	defer a.wg.Done()
	for {
		rwc, err := a.ln.Accept()
		if err != nil {
			if errors.Is(err, localapi.ErrPeerRefused) {
				a.log.Warn("local API connection refused", "err", err)
				continue
			}
			if ctx.Err() != nil {
				return
			}
			a.log.Info("local API accept", "err", err)
			// A transient accept error (EMFILE): let the next one decide,
			// but do not spin.
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		c := &serverConn{a: a, rwc: rwc, calls: map[uint64]*serverCall{}}
		c.ctx, c.cancel = context.WithCancel(ctx)
		a.conns.Store(c, nil)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer a.conns.Delete(c)
			c.run()
		}()
	}
}

// serverConn is one client connection.
type serverConn struct {
	a      *Agent
	rwc    io.ReadWriteCloser
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
	answers chan localapi.Frame
	seq     uint64
}

func (c *serverConn) close() {
	c.once.Do(func() {
		c.cancel()
		_ = c.rwc.Close()
	})
}

func (c *serverConn) run() {
	lr := localapi.NewLineReader(c.rwc)
	defer func() {
		c.close()
		c.wg.Wait()
		lr.Wipe()
	}()
	for {
		f, err := localapi.ReadFrame(lr, true)
		if err != nil {
			if errors.Is(err, localapi.ErrProtocol) {
				// Say why before hanging up; the frame itself is not logged.
				c.a.log.Warn("local API client broke the protocol", "err", err)
				_ = c.write(&localapi.Frame{Type: localapi.FrameReply, ID: localapi.ProtocolErrorID, Error: localapi.ToWire(err)})
			}
			return
		}
		switch f.Type {
		case localapi.FrameCall:
			c.mu.Lock()
			_, dup := c.calls[f.ID]
			var call *serverCall
			if !dup {
				ctx, cancel := context.WithCancel(c.ctx)
				call = &serverCall{id: f.ID, cancel: cancel, answers: make(chan localapi.Frame, 1)}
				c.calls[f.ID] = call
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					c.handle(ctx, call, f)
				}()
			}
			c.mu.Unlock()
			if dup {
				_ = c.write(&localapi.Frame{Type: localapi.FrameReply, ID: f.ID, Error: localapi.ToWire(fmt.Errorf("%w: id %d in use", localapi.ErrProtocol, f.ID))})
				return
			}
		case localapi.FrameAnswer:
			c.mu.Lock()
			call := c.calls[f.ID]
			c.mu.Unlock()
			if call == nil {
				f.Wipe()
				continue
			}
			select {
			case call.answers <- f:
			default:
				f.Wipe() // nothing asked for it
			}
		case localapi.FrameCancel:
			c.mu.Lock()
			if call := c.calls[f.ID]; call != nil {
				call.cancel()
			}
			c.mu.Unlock()
		}
	}
}

func (c *serverConn) write(f *localapi.Frame) error {
	b, err := localapi.EncodeFrame(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.rwc.Write(b)
	return err
}

func (c *serverConn) reply(call *serverCall, result any, err error) {
	f := &localapi.Frame{Type: localapi.FrameReply, ID: call.id, Error: localapi.ToWire(err)}
	if err == nil && result != nil {
		b, merr := json.Marshal(result)
		if merr != nil {
			f.Error = localapi.ToWire(merr)
		} else {
			f.Result = b
		}
	}
	if werr := c.write(f); werr != nil {
		c.close()
	}
}

func (c *serverConn) endCall(call *serverCall) {
	call.cancel()
	c.mu.Lock()
	delete(c.calls, call.id)
	c.mu.Unlock()
	for {
		select {
		case f := <-call.answers:
			f.Wipe()
		default:
			return
		}
	}
}

// ask sends a prompt frame to the client that started call and waits for
// its answer.
func (c *serverConn) ask(ctx context.Context, call *serverCall, p localapi.WirePrompt) (localapi.Frame, error) {
	c.mu.Lock()
	call.seq++
	seq := call.seq
	c.mu.Unlock()
	if err := c.write(&localapi.Frame{Type: localapi.FramePrompt, ID: call.id, Seq: seq, Prompt: &p}); err != nil {
		return localapi.Frame{}, fmt.Errorf("asking the client: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return localapi.Frame{}, ctx.Err()
		case f := <-call.answers:
			if f.Seq != seq {
				f.Wipe()
				continue
			}
			if f.Error != nil {
				f.Wipe()
				return localapi.Frame{}, localapi.FromWire(f.Error)
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
		f, err := c.ask(ctx, call, localapi.WirePrompt{
			Kind: localapi.PromptKindToWire(req.Kind), PIN: string(req.PIN), Retries: req.Retries,
			Holder: req.Holder, HSAID: req.HSAID, CardNumber: req.CardNumber,
		})
		if err != nil {
			return nil, err
		}
		s := cardreader.NewSecret(f.Secret) // takes ownership of the bytes
		return s, nil
	}
}

func (c *serverConn) approve(call *serverCall) func(context.Context, app.LoginApproval) error {
	return func(ctx context.Context, la app.LoginApproval) error {
		f, err := c.ask(ctx, call, localapi.WirePrompt{Kind: localapi.PromptApprove, Retries: -1,
			Holder: la.Holder, HSAID: la.HSAID, CardNumber: la.CardNumber, Approval: &la})
		if err != nil {
			return err
		}
		f.Wipe()
		if !f.Approved {
			return app.ErrCancelled
		}
		return nil
	}
}

// exchange is what a method's handler has of its call: the agent, the
// connection (to ask the caller for a PIN or an approval) and the call.
type exchange struct {
	a    *Agent
	c    *serverConn
	call *serverCall
}

func (x exchange) prompt() app.Prompt { return x.c.prompt(x.call) }

// handler is one method of the local API on the agent's side.
type handler struct {
	name string
	// op marks a card operation: counted in the state, its failure logged.
	op bool
	// stream marks a method that replies itself (subscribe).
	stream bool
	// decode decodes the params strictly and returns the call to run.
	decode func(json.RawMessage) (func(context.Context, exchange) (any, error), error)
}

// method makes the handler of m: one generic decode of m's params, then f.
func method[P, R any](m localapi.Method[P, R], f func(context.Context, exchange, P) (R, error)) handler {
	return handler{name: m.Name, decode: func(raw json.RawMessage) (func(context.Context, exchange) (any, error), error) {
		p, err := m.Decode(raw)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, x exchange) (any, error) {
			r, err := f(ctx, x, p)
			return m.Result(r), err
		}, nil
	}}
}

// cardOp marks h as a card operation.
func cardOp(h handler) handler { h.op = true; return h }

// handlers is the local API as the agent serves it: one entry per method
// of localapi's table.
var handlers = []handler{
	method(localapi.MethodPing, func(_ context.Context, x exchange, _ localapi.None) (localapi.AgentInfo, error) {
		return localapi.AgentInfo{PID: os.Getpid(), Version: x.a.opts.Version, Started: x.a.started.Format(time.RFC3339)}, nil
	}),
	method(localapi.MethodStatus, func(ctx context.Context, x exchange, p localapi.StatusParams) (app.Status, error) {
		st, err := x.a.svc.Status(ctx, app.StatusOptions{Select: p.Select.Selector(), ShowPersonalNumber: p.ShowPersonalNumber, ExpiryWarning: localapi.NSDuration(p.ExpiryWarningNs)})
		if err != nil {
			return app.Status{}, err
		}
		// A full, masked status is the freshest state there is: publish it.
		if p.Select == (localapi.SelectParams{}) && !p.ShowPersonalNumber {
			x.a.apply(st)
		}
		return *st, nil
	}),
	func() handler {
		h := method(localapi.MethodSubscribe, func(ctx context.Context, x exchange, _ localapi.None) (localapi.None, error) {
			x.c.subscribe(ctx, x.call)
			return localapi.None{}, nil
		})
		h.stream = true
		return h
	}(),
	cardOp(method(localapi.MethodPINChange, func(ctx context.Context, x exchange, p localapi.PINParams) (localapi.None, error) {
		return localapi.None{}, x.a.svc.ChangePIN(ctx, p.Select.Selector(), p.PIN, x.prompt())
	})),
	cardOp(method(localapi.MethodPINUnblock, func(ctx context.Context, x exchange, p localapi.PINParams) (localapi.None, error) {
		return localapi.None{}, x.a.svc.UnblockPIN(ctx, p.Select.Selector(), p.PIN, x.prompt())
	})),
	cardOp(method(localapi.MethodCertRemove, func(ctx context.Context, x exchange, p localapi.CertRemoveParams) (localapi.None, error) {
		return localapi.None{}, x.a.svc.RemoveCertificate(ctx, p.Select.Selector(), p.CertID, app.RemoveOptions{ConfirmLogin: p.ConfirmLogin}, x.prompt())
	})),
	cardOp(method(localapi.MethodRemoveExpired, func(ctx context.Context, x exchange, p localapi.CertRemoveParams) (localapi.RemovedResult, error) {
		ids, err := x.a.svc.RemoveExpired(ctx, p.Select.Selector(), app.RemoveOptions{ConfirmLogin: p.ConfirmLogin}, x.prompt())
		if ids == nil {
			ids = []string{}
		}
		return localapi.RemovedResult{Removed: ids}, err
	})),
	cardOp(method(localapi.MethodLogin, func(ctx context.Context, x exchange, p localapi.LoginParams) (app.LoginResult, error) {
		a := x.a
		link := p.Link
		if p.Handoff != "" {
			var err error
			if link, err = a.takeHandoff(p.Handoff); err != nil {
				return app.LoginResult{}, err
			}
		}
		req := app.LoginRequest{Link: link, Select: p.Select.Selector(), Env: a.environment(), Prompt: x.prompt()}
		if p.Approve {
			req.Approve = x.c.approve(x.call)
		}
		res, err := a.svc.Login(ctx, req)
		if p.Handoff != "" {
			a.settleHandoff(p.Handoff, err)
		}
		if err != nil {
			return app.LoginResult{}, err
		}
		return *res, nil
	})),
	cardOp(method(localapi.MethodExport, func(ctx context.Context, x exchange, p localapi.ExportParams) ([]app.ExportedFile, error) {
		files, err := x.a.svc.Export(ctx, p.Select.Selector(), p.Dir, app.ExportFormat(p.Format))
		if files == nil {
			files = []app.ExportedFile{}
		}
		return files, err
	})),
	method(localapi.MethodQR, func(ctx context.Context, x exchange, p localapi.QRParams) (app.QRHandover, error) {
		a := x.a
		link := p.Link
		if p.Handoff != "" {
			var err error
			if link, err = a.peekHandoff(p.Handoff); err != nil {
				return app.QRHandover{}, err
			}
		}
		size := p.Size
		if size <= 0 || size > 2048 {
			size = 320
		}
		h, err := a.svc.QR(ctx, link, a.environment(), size)
		if err != nil {
			return app.QRHandover{}, err
		}
		return *h, nil
	}),
	method(localapi.MethodHandoff, func(_ context.Context, x exchange, p localapi.HandoffParams) (localapi.HandoffReceipt, error) {
		return x.a.queueHandoff(p.URL)
	}),
	method(localapi.MethodDiagnostics, func(ctx context.Context, x exchange, p localapi.DiagnosticsParams) (localapi.None, error) {
		if x.a.opts.Diagnostics == nil {
			return localapi.None{}, fmt.Errorf("%q: %w", localapi.MethodDiagnostics.Name, localapi.ErrUnknownMethod)
		}
		if !filepath.IsAbs(p.Path) {
			return localapi.None{}, fmt.Errorf("%w: diagnostics path %q is not absolute", localapi.ErrProtocol, p.Path)
		}
		return localapi.None{}, x.a.opts.Diagnostics(ctx, p.Path)
	}),
}

// handlerNamed finds a method's handler.
func handlerNamed(name string) (handler, bool) {
	for _, h := range handlers {
		if h.name == name {
			return h, true
		}
	}
	return handler{}, false
}

// methodList names the methods, for an unknown method's error.
func methodList() string {
	names := make([]string, len(handlers))
	for i, h := range handlers {
		names[i] = h.name
	}
	return strings.Join(names, ", ")
}

// checkParams refuses params that are valid JSON but not usable, before the
// call runs (an export directory must be absolute).
func checkParams(method string, raw json.RawMessage) error {
	if method != localapi.MethodExport.Name {
		return nil
	}
	p, _ := localapi.MethodExport.Decode(raw)
	if !filepath.IsAbs(p.Dir) {
		return fmt.Errorf("%w: export directory %q is not absolute", localapi.ErrProtocol, p.Dir)
	}
	return nil
}

// handle runs one call and replies.
func (c *serverConn) handle(ctx context.Context, call *serverCall, f localapi.Frame) {
	defer c.endCall(call)
	a := c.a
	h, ok := handlerNamed(f.Method)
	if !ok {
		c.reply(call, nil, fmt.Errorf("%q (want one of %s): %w", f.Method, methodList(), localapi.ErrUnknownMethod))
		return
	}
	run, err := h.decode(f.Params)
	if err == nil {
		err = checkParams(h.name, f.Params)
	}
	if err != nil {
		c.reply(call, nil, err)
		return
	}
	x := exchange{a: a, c: c, call: call}
	switch {
	case h.stream:
		_, _ = run(ctx, x)
	case h.op:
		end := a.begin(f.Method)
		res, err := run(ctx, x)
		end(err)
		if err != nil {
			a.log.Info("operation failed", "method", f.Method, "err", err)
		}
		c.reply(call, res, err)
	default:
		res, err := run(ctx, x)
		c.reply(call, res, err)
	}
}

// subscriber is one subscription: a bounded queue drained by its own
// goroutine, so a slow client never stalls the agent.
type subscriber struct {
	ch chan localapi.Event
	// overflow is closed when the client fell behind; it is then dropped.
	overflow chan struct{}
	once     sync.Once
}

func (s *subscriber) send(ev localapi.Event) {
	select {
	case s.ch <- ev:
	default:
		s.once.Do(func() { close(s.overflow) })
	}
}

// subscribe answers with the current state and pushes every change until
// the call is cancelled or the connection ends.
func (c *serverConn) subscribe(ctx context.Context, call *serverCall) {
	a := c.a
	s := &subscriber{ch: make(chan localapi.Event, 64), overflow: make(chan struct{})}
	a.mu.Lock()
	st := a.snapshotLocked()
	a.subs[s] = struct{}{}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.subs, s)
		a.mu.Unlock()
	}()
	b, _ := json.Marshal(localapi.Event{State: &st})
	if err := c.write(&localapi.Frame{Type: localapi.FrameEvent, ID: call.id, Result: b}); err != nil {
		c.close()
		return
	}
	for {
		select {
		case <-ctx.Done():
			c.reply(call, nil, ctx.Err())
			return
		case <-s.overflow:
			a.log.Warn("local API subscriber too slow: dropped")
			c.close()
			return
		case ev := <-s.ch:
			b, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			if err := c.write(&localapi.Frame{Type: localapi.FrameEvent, ID: call.id, Result: b}); err != nil {
				c.close()
				return
			}
		}
	}
}
