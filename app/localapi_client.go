package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// AgentClient is a connection to the running agent. Its methods mirror the
// Service's; PIN prompts are answered by the Prompt each method takes, on
// the caller's side (a dialog in the ui, the terminal in the CLI). Methods
// may be called concurrently; the agent runs card operations one at a time.
type AgentClient struct {
	rwc io.ReadWriteCloser
	wmu sync.Mutex

	mu     sync.Mutex
	nextID uint64
	calls  map[uint64]chan frame
	err    error // why the connection ended
	done   chan struct{}
	once   sync.Once
}

// ErrAbandoned is what a Prompt returns when its caller stopped waiting
// without declining (a window switched from the PIN to the QR code for
// the phone). Through the agent it cancels the operation instead of
// answering, so a login's order stays pending at the service, where
// ErrCancelled would cancel it.
var ErrAbandoned = errors.New("prompt abandoned by the caller")

// ErrRemoteManagementKey: a management key is not sent to the agent; run
// such a removal in-process.
var ErrRemoteManagementKey = errors.New("a management key cannot be passed to the agent")

// Dial connects to this session's agent. With no agent running it returns
// an error wrapping ErrNoAgent.
func Dial(ctx context.Context) (*AgentClient, error) {
	addr, err := AgentAddress()
	if err != nil {
		return nil, err
	}
	return DialAddress(ctx, addr)
}

// DialAddress connects to the agent at addr (a socket path; on Windows a
// pipe name).
func DialAddress(ctx context.Context, addr string) (*AgentClient, error) {
	rwc, err := dialAgent(ctx, addr)
	if err != nil {
		return nil, err
	}
	c := &AgentClient{rwc: rwc, calls: map[uint64]chan frame{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

// pingAddress reports whether an agent answers at addr.
func pingAddress(ctx context.Context, addr string) (AgentInfo, error) {
	c, err := DialAddress(ctx, addr)
	if err != nil {
		return AgentInfo{}, err
	}
	defer c.Close()
	return c.Ping(ctx)
}

// Close ends the connection; operations in flight fail.
func (c *AgentClient) Close() error {
	c.shutdown(errClosed)
	return nil
}

var errClosed = errors.New("connection to the agent closed")

func (c *AgentClient) shutdown(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		_ = c.rwc.Close()
		close(c.done)
	})
}

func (c *AgentClient) readLoop() {
	lr := newLineReader(c.rwc)
	defer lr.wipe()
	for {
		f, err := readFrame(lr, false)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errClosed
			}
			c.shutdown(err)
			return
		}
		c.mu.Lock()
		ch := c.calls[f.ID]
		c.mu.Unlock()
		if ch == nil {
			if f.Type == frameReply && f.Error != nil {
				// The agent hung up on a protocol error not tied to a call.
				c.shutdown(fromWire(f.Error))
				return
			}
			continue
		}
		select {
		case ch <- f:
		case <-c.done:
			return
		}
	}
}

func (c *AgentClient) write(f *frame) error {
	b, err := encodeFrame(f)
	if err != nil {
		return err
	}
	defer clear(b) // an answer frame carries a secret
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.rwc.Write(b); err != nil {
		select {
		case <-c.done:
			return c.connErr() // the agent hung up first: say why
		default:
		}
		c.shutdown(err)
		return fmt.Errorf("writing to the agent: %w", err)
	}
	return nil
}

func (c *AgentClient) connErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return errClosed
	}
	return c.err
}

// callHandlers answer the agent's prompts during a call.
type callHandlers struct {
	prompt  Prompt
	approve func(context.Context, LoginApproval) error
	event   func(AgentEvent) bool // false stops a subscription
}

// call runs one method: it sends the call frame, answers prompts, and
// decodes the reply into result.
func (c *AgentClient) call(ctx context.Context, method string, params, result any, h callHandlers) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	ch := make(chan frame, 64)
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.calls[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
	}()
	if err := c.write(&frame{Type: frameCall, ID: id, Method: method, Params: p}); err != nil {
		return err
	}
	cancelled := false
	var grace <-chan time.Time
	for {
		if !cancelled {
			select {
			case <-ctx.Done():
				cancelled = true
				_ = c.write(&frame{Type: frameCancel, ID: id})
				grace = time.After(2 * time.Second)
				continue
			default:
			}
		}
		var f frame
		select {
		case f = <-ch:
		case <-c.done:
			return c.connErr()
		case <-ctx.Done():
			if !cancelled {
				continue // handled above
			}
			select {
			case f = <-ch:
			case <-grace:
				return ctx.Err()
			case <-c.done:
				return ctx.Err()
			}
		}
		switch f.Type {
		case frameReply:
			if f.Error != nil {
				return fromWire(f.Error)
			}
			if result != nil && f.Result != nil {
				if err := json.Unmarshal(f.Result, result); err != nil {
					return fmt.Errorf("%w: %w", ErrProtocol, err)
				}
			}
			return nil
		case framePrompt:
			if err := c.answer(ctx, id, f, h); err != nil {
				return err
			}
		case frameEvent:
			var ev AgentEvent
			if h.event == nil || json.Unmarshal(f.Result, &ev) != nil {
				continue
			}
			if !h.event(ev) && !cancelled {
				cancelled = true
				_ = c.write(&frame{Type: frameCancel, ID: id})
				grace = time.After(2 * time.Second)
			}
		}
	}
}

// answer asks the caller's user what a prompt frame asks and sends the
// answer: the secret, an approval, or why not.
func (c *AgentClient) answer(ctx context.Context, id uint64, f frame, h callHandlers) error {
	ans := &frame{Type: frameAnswer, ID: id, Seq: f.Seq}
	p := f.Prompt
	if p.Kind == promptApprove {
		switch {
		case h.approve == nil:
			ans.Approved = true // the caller showed the text itself
		case p.Approval == nil:
			ans.Error = toWire(fmt.Errorf("%w: approval prompt without approval", ErrProtocol))
		default:
			if err := h.approve(ctx, *p.Approval); err != nil {
				ans.Error = toWire(err)
			} else {
				ans.Approved = true
			}
		}
		return c.write(ans)
	}
	kind, ok := promptKindFromWire(p.Kind)
	if !ok || h.prompt == nil {
		ans.Error = toWire(ErrCancelled)
		return c.write(ans)
	}
	ref, err := CheckPINRef(cardreader.PINRef(p.PIN))
	if err != nil {
		ans.Error = toWire(fmt.Errorf("%w: prompt for %w", ErrProtocol, err))
		return c.write(ans)
	}
	s, err := h.prompt(ctx, PromptRequest{Kind: kind, PIN: ref, Retries: p.Retries, Holder: p.Holder, HSAID: p.HSAID, CardNumber: p.CardNumber})
	if errors.Is(err, ErrAbandoned) {
		// Not an answer: the operation is called off, as when ctx ends,
		// so a login's order stays pending (the user went to the phone).
		return c.write(&frame{Type: frameCancel, ID: id})
	}
	if err != nil {
		ans.Error = toWire(err)
		return c.write(ans)
	}
	defer s.Wipe()
	ans.Secret = s.Bytes()
	err = c.write(ans)
	ans.Secret = nil
	return err
}

// Ping asks the agent who it is.
func (c *AgentClient) Ping(ctx context.Context) (AgentInfo, error) {
	var info AgentInfo
	err := c.call(ctx, MethodPing, struct{}{}, &info, callHandlers{})
	return info, err
}

// Status is Service.Status run by the agent.
func (c *AgentClient) Status(ctx context.Context, opts StatusOptions) (*Status, error) {
	var st Status
	err := c.call(ctx, MethodStatus, statusParams{
		Select: wireSelect(opts.Select), ShowPersonalNumber: opts.ShowPersonalNumber,
		ExpiryWarningNs: int64(opts.ExpiryWarning),
	}, &st, callHandlers{})
	if err != nil {
		return nil, err
	}
	for i := range st.Cards {
		if cs := &st.Cards[i]; cs.Error != "" {
			cs.err = &AgentError{Code: "failed", Message: cs.Error}
		}
	}
	return &st, nil
}

// ChangePIN is Service.ChangePIN run by the agent; prompt answers its
// questions here. Errors about the signature PIN come wrapped in
// *PINError, as the Service's do.
func (c *AgentClient) ChangePIN(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) error {
	ref, err := CheckPINRef(pin)
	if err != nil {
		return err
	}
	return pinError(ref, c.call(ctx, MethodPINChange, pinParams{Select: wireSelect(sel), PIN: ref}, nil, callHandlers{prompt: prompt}))
}

// UnblockPIN is Service.UnblockPIN run by the agent.
func (c *AgentClient) UnblockPIN(ctx context.Context, sel Selector, pin cardreader.PINRef, prompt Prompt) error {
	ref, err := CheckPINRef(pin)
	if err != nil {
		return err
	}
	return pinError(ref, c.call(ctx, MethodPINUnblock, pinParams{Select: wireSelect(sel), PIN: ref}, nil, callHandlers{prompt: prompt}))
}

// RemoveCertificate is Service.RemoveCertificate run by the agent. A
// management key in opts is refused (ErrRemoteManagementKey).
func (c *AgentClient) RemoveCertificate(ctx context.Context, sel Selector, certID string, opts RemoveOptions, prompt Prompt) error {
	if opts.ManagementKey != nil {
		return ErrRemoteManagementKey
	}
	return c.call(ctx, MethodCertRemove, certRemoveParams{Select: wireSelect(sel), CertID: certID, ConfirmLogin: opts.ConfirmLogin},
		nil, callHandlers{prompt: prompt})
}

// RemoveExpired is Service.RemoveExpired run by the agent.
func (c *AgentClient) RemoveExpired(ctx context.Context, sel Selector, opts RemoveOptions, prompt Prompt) ([]string, error) {
	if opts.ManagementKey != nil {
		return nil, ErrRemoteManagementKey
	}
	var res removedResult
	err := c.call(ctx, MethodRemoveExpired, certRemoveParams{Select: wireSelect(sel), ConfirmLogin: opts.ConfirmLogin},
		&res, callHandlers{prompt: prompt})
	return res.Removed, err
}

// Login is Service.Login run by the agent, in the agent's environment
// (req.Env is not used: the agent's configuration decides where logins go).
// req.Approve, when set, is asked before the PIN.
func (c *AgentClient) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	return c.login(ctx, loginParams{Link: req.Link}, req)
}

// LoginHandoff runs the login the URL handler queued under id.
func (c *AgentClient) LoginHandoff(ctx context.Context, id string, req LoginRequest) (*LoginResult, error) {
	return c.login(ctx, loginParams{Handoff: id}, req)
}

func (c *AgentClient) login(ctx context.Context, p loginParams, req LoginRequest) (*LoginResult, error) {
	p.Select = wireSelect(req.Select)
	p.Approve = req.Approve != nil
	var res LoginResult
	if err := c.call(ctx, MethodLogin, p, &res, callHandlers{prompt: req.Prompt, approve: req.Approve}); err != nil {
		return nil, err
	}
	return &res, nil
}

// Export is Service.Export run by the agent: the agent (the same user)
// writes the files into dir, made absolute here.
func (c *AgentClient) Export(ctx context.Context, sel Selector, dir string, format ExportFormat) ([]ExportedFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var files []ExportedFile
	err = c.call(ctx, MethodExport, exportParams{Select: wireSelect(sel), Dir: abs, Format: string(format)}, &files, callHandlers{})
	return files, err
}

// QR is Service.QR run by the agent, in the agent's environment.
func (c *AgentClient) QR(ctx context.Context, link string, size int) (*QRHandover, error) {
	return c.qr(ctx, qrParams{Link: link, Size: size})
}

// QRHandoff is QR for the order the URL handler queued under id; the
// handoff stays queued.
func (c *AgentClient) QRHandoff(ctx context.Context, id string, size int) (*QRHandover, error) {
	return c.qr(ctx, qrParams{Handoff: id, Size: size})
}

func (c *AgentClient) qr(ctx context.Context, p qrParams) (*QRHandover, error) {
	var h QRHandover
	if err := c.call(ctx, MethodQR, p, &h, callHandlers{}); err != nil {
		return nil, err
	}
	return &h, nil
}

// Handoff queues a sithseid: login URL at the agent and returns at once.
func (c *AgentClient) Handoff(ctx context.Context, url string) (HandoffReceipt, error) {
	var rec HandoffReceipt
	err := c.call(ctx, MethodHandoff, handoffParams{URL: url}, &rec, callHandlers{})
	return rec, err
}

// Subscribe streams the agent's state and notifications: first the state
// now, then every change, until ctx is done or the connection ends; the
// channel is closed then. A client that falls behind by more than 64
// events is disconnected by the agent.
func (c *AgentClient) Subscribe(ctx context.Context) (<-chan AgentEvent, error) {
	out := make(chan AgentEvent, 64)
	first := make(chan error, 1)
	go func() {
		defer close(out)
		started := false
		err := c.call(ctx, MethodSubscribe, struct{}{}, nil, callHandlers{event: func(ev AgentEvent) bool {
			if !started {
				started = true
				first <- nil
			}
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}})
		if !started {
			if err == nil {
				err = errClosed
			}
			first <- err
		}
	}()
	select {
	case err := <-first:
		if err != nil {
			return nil, err
		}
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
