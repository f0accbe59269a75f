package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sithseid/sithseid/internal/detach"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/localsocket"
)

// AgentClient is a connection to the running agent. Its methods mirror the
// Service's; PIN prompts are answered by the Prompt each method takes, on
// the caller's side (a dialog in the ui, the terminal in the CLI). Methods
// may be called concurrently; the agent runs card operations one at a time.
type Client struct {
	rwc io.ReadWriteCloser
	wmu sync.Mutex

	mu     sync.Mutex
	nextID uint64
	calls  map[uint64]chan frame
	err    error // why the connection ended
	done   chan struct{}
	once   sync.Once
	// probe is closed when the check Probe sent has settled, probeErr
	// then saying how (nil: the agent answered); nil without a Probe.
	probe    chan struct{}
	probeErr error
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
func Dial(ctx context.Context) (*Client, error) {
	addr, err := Address(os.Getenv)
	if err != nil {
		return nil, err
	}
	return DialAddress(ctx, addr)
}

// DialAddress connects to the agent at addr (a socket path; on Windows a
// pipe name).
func DialAddress(ctx context.Context, addr string) (*Client, error) {
	rwc, err := localsocket.Dial(ctx, addr)
	if errors.Is(err, localsocket.ErrNotListening) {
		return nil, fmt.Errorf("%w: %w", ErrNoAgent, err)
	}
	if err != nil {
		return nil, err
	}
	c := &Client{rwc: rwc, calls: map[uint64]chan frame{}, done: make(chan struct{})}
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

// ErrUnresponsive: the agent took the connection but did not answer the
// ping Probe sent (nothing within the time Probe gave it, or it hung up or
// refused the connection; the error wraps why). The call that returns it
// got nothing back either, so it answered no prompt: the agent never had
// a secret of the call's and cannot have done what needs one (every PIN
// change, unblock, removal and login does). The connection is closed,
// which cancels the call at the agent should it ever read it. The caller
// may run the operation itself.
var ErrUnresponsive = fmt.Errorf("%w: the agent answers nothing", ErrNoAgent)

// Probe checks that the agent answers without waiting for it: it sends a
// ping now, and a call made on c before the ping's answer goes out at
// once, beside it, instead of after a round trip (issue 17: the ping
// before a PIN change cost a round trip through both processes' wakeups
// on a loaded machine). Should the agent answer neither the ping nor the
// call within within, the call returns ErrUnresponsive. Call Probe once,
// before the first call.
func (c *Client) Probe(within time.Duration) {
	ch := make(chan frame, 1)
	probe := make(chan struct{})
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.calls[id] = ch
	c.probe = probe
	c.mu.Unlock()
	settle := func(err error) {
		c.mu.Lock()
		delete(c.calls, id)
		c.probeErr = err
		c.mu.Unlock()
		close(probe)
	}
	if err := c.write(&frame{Type: frameCall, ID: id, Method: MethodPing.Name, Params: json.RawMessage("{}")}); err != nil {
		settle(err)
		return
	}
	go func() {
		t := time.NewTimer(within)
		defer t.Stop()
		select {
		case <-ch: // any answer, even an error, is the agent's
			settle(nil)
		case <-c.done:
			settle(c.connErr())
		case <-t.C:
			settle(ErrUnresponsive)
		}
	}()
}

// probed is the probe a call waits on: nil when there is none or it has
// settled with an answer.
func (c *Client) probed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probe == nil {
		return nil
	}
	select {
	case <-c.probe:
		if c.probeErr == nil {
			return nil
		}
	default:
	}
	return c.probe
}

// unanswered ends a connection whose agent did not answer Probe (why:
// ErrUnresponsive, the connection's end, a refusal) while a call got
// nothing back.
func (c *Client) unanswered(why error) error {
	err := ErrUnresponsive
	if !errors.Is(why, ErrUnresponsive) {
		err = fmt.Errorf("%w: %w", ErrUnresponsive, why)
	}
	c.shutdown(err)
	return err
}

// Close ends the connection; operations in flight fail.
func (c *Client) Close() error {
	c.shutdown(errClosed)
	return nil
}

var errClosed = errors.New("connection to the agent closed")

func (c *Client) shutdown(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		_ = c.rwc.Close()
		close(c.done)
	})
}

func (c *Client) readLoop() {
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

func (c *Client) write(f *frame) error {
	b, err := encodeFrame(f)
	if err != nil {
		return err
	}
	defer clear(b) // an answer frame carries a secret
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.rwc.Write(b); err != nil {
		// The agent may have hung up with a reason (a connection over its
		// bounds is answered tooManyConnections and closed): the read loop
		// takes it, or the end of the stream, at once.
		select {
		case <-c.done:
			return c.connErr() // the agent hung up first: say why
		case <-time.After(time.Second):
		}
		c.shutdown(err)
		return fmt.Errorf("writing to the agent: %w", err)
	}
	return nil
}

func (c *Client) connErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		return errClosed
	}
	return c.err
}

// call runs one method: it sends the call frame, answers prompts, and
// decodes the reply into result.
func (c *Client) call(ctx context.Context, method string, params, result any, h Handlers) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if h.eid == nil {
		h.eid = &eidPick{}
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
	probe := c.probed()
	if err := c.write(&frame{Type: frameCall, ID: id, Method: method, Params: p}); err != nil {
		if probe != nil {
			return c.unanswered(err)
		}
		return err
	}
	cancelled := false
	var grace <-chan time.Time
	var pending *frame // taken while the probe was open
	for probe != nil {
		// Nothing from the agent yet: its answer to the ping, or anything
		// of this call's, shows it alive.
		select {
		case f := <-ch:
			probe, pending = nil, &f
		case <-probe:
			c.mu.Lock()
			err := c.probeErr
			c.mu.Unlock()
			if probe = nil; err == nil {
				break
			}
			select {
			case f := <-ch: // it came as the probe gave up
				pending = &f
			default:
				return c.unanswered(err)
			}
		case <-c.done:
			return c.unanswered(c.connErr())
		case <-ctx.Done():
			probe = nil // the caller's end, as below
		}
	}
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
		if pending != nil {
			f, pending = *pending, nil
		} else {
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
			var ev Event
			if h.Event == nil || json.Unmarshal(f.Result, &ev) != nil {
				continue
			}
			if !h.Event(ev) && !cancelled {
				cancelled = true
				_ = c.write(&frame{Type: frameCancel, ID: id})
				grace = time.After(2 * time.Second)
			}
		}
	}
}

// answer asks the caller's user what a prompt frame asks and sends the
// answer: the secret, an approval, or why not.
func (c *Client) answer(ctx context.Context, id uint64, f frame, h Handlers) error {
	ans := &frame{Type: frameAnswer, ID: id, Seq: f.Seq}
	p := f.Prompt
	if p.Kind == promptApprove {
		switch {
		case h.Approve == nil:
			ans.Approved = true // the caller showed the text itself
		case p.Approval == nil:
			ans.Error = ToWire(fmt.Errorf("%w: approval prompt without approval", ErrProtocol))
		default:
			if err := h.Approve(ctx, p.Approval.WithChooser(h.eid.set)); err != nil {
				ans.Error = ToWire(err)
			} else {
				ans.Approved, ans.EID = true, h.eid.get()
			}
		}
		return c.write(ans)
	}
	kind, ok := promptKindFromWire(p.Kind)
	if !ok || h.Prompt == nil {
		ans.Error = ToWire(app.ErrCancelled)
		return c.write(ans)
	}
	ref, err := app.CheckPINRef(cardreader.PINRef(p.PIN))
	if err != nil {
		ans.Error = ToWire(fmt.Errorf("%w: prompt for %w", ErrProtocol, err))
		return c.write(ans)
	}
	s, err := h.Prompt(ctx, app.PromptRequest{Kind: kind, PIN: ref, Retries: p.Retries, Holder: p.Holder, HSAID: p.HSAID, CardNumber: p.CardNumber})
	if errors.Is(err, ErrAbandoned) {
		// Not an answer: the operation is called off, as when ctx ends,
		// so a login's order stays pending (the user went to the phone).
		return c.write(&frame{Type: frameCancel, ID: id})
	}
	if err != nil {
		ans.Error = ToWire(err)
		return c.write(ans)
	}
	defer s.Wipe()
	ans.Secret = s.Bytes()
	ans.EID = h.eid.get() // the eID picked in the approval, if any
	err = c.write(ans)
	ans.Secret = nil
	return err
}

// Ping asks the agent who it is.
func (c *Client) Ping(ctx context.Context) (AgentInfo, error) {
	return Call(ctx, c, MethodPing, None{}, Handlers{})
}

// Status is Service.Status run by the agent.
func (c *Client) Status(ctx context.Context, opts app.StatusOptions) (*app.Status, error) {
	st, err := Call(ctx, c, MethodStatus, StatusParams{
		Select: wireSelect(opts.Select), ShowPersonalNumber: opts.ShowPersonalNumber,
		ExpiryWarningNs: int64(opts.ExpiryWarning),
	}, Handlers{})
	if err != nil {
		return nil, err
	}
	for i := range st.Cards {
		if cs := &st.Cards[i]; cs.Error != "" {
			cs.SetErr(&AgentError{Code: "failed", Message: cs.Error})
		}
	}
	return &st, nil
}

// ChangePIN is Service.ChangePIN run by the agent; prompt answers its
// questions here. Errors about the signature PIN come wrapped in
// *PINError, as the Service's do.
func (c *Client) ChangePIN(ctx context.Context, sel app.Selector, pin cardreader.PINRef, prompt app.Prompt) error {
	ref, err := app.CheckPINRef(pin)
	if err != nil {
		return err
	}
	_, err = Call(ctx, c, MethodPINChange, PINParams{Select: wireSelect(sel), PIN: ref}, Handlers{Prompt: prompt})
	return app.WrapPINError(ref, err)
}

// UnblockPIN is Service.UnblockPIN run by the agent.
func (c *Client) UnblockPIN(ctx context.Context, sel app.Selector, pin cardreader.PINRef, prompt app.Prompt) error {
	ref, err := app.CheckPINRef(pin)
	if err != nil {
		return err
	}
	_, err = Call(ctx, c, MethodPINUnblock, PINParams{Select: wireSelect(sel), PIN: ref}, Handlers{Prompt: prompt})
	return app.WrapPINError(ref, err)
}

// RemoveCertificate is Service.RemoveCertificate run by the agent. A
// management key in opts is refused (ErrRemoteManagementKey).
func (c *Client) RemoveCertificate(ctx context.Context, sel app.Selector, certID string, opts app.RemoveOptions, prompt app.Prompt) error {
	if opts.ManagementKey != nil {
		return ErrRemoteManagementKey
	}
	_, err := Call(ctx, c, MethodCertRemove, CertRemoveParams{Select: wireSelect(sel), CertID: certID, ConfirmLogin: opts.ConfirmLogin}, Handlers{Prompt: prompt})
	return err
}

// RemoveEID is Service.RemoveEID run by the agent. A management key in
// opts is refused (ErrRemoteManagementKey).
func (c *Client) RemoveEID(ctx context.Context, sel app.Selector, hsaID string, opts app.RemoveOptions, prompt app.Prompt) ([]string, error) {
	if opts.ManagementKey != nil {
		return nil, ErrRemoteManagementKey
	}
	res, err := Call(ctx, c, MethodEIDRemove, EIDRemoveParams{Select: wireSelect(sel), HSAID: hsaID, ConfirmLogin: opts.ConfirmLogin}, Handlers{Prompt: prompt})
	return res.Removed, err
}

// RemoveExpired is Service.RemoveExpired run by the agent.
func (c *Client) RemoveExpired(ctx context.Context, sel app.Selector, opts app.RemoveOptions, prompt app.Prompt) ([]string, error) {
	if opts.ManagementKey != nil {
		return nil, ErrRemoteManagementKey
	}
	res, err := Call(ctx, c, MethodRemoveExpired, CertRemoveParams{Select: wireSelect(sel), ConfirmLogin: opts.ConfirmLogin}, Handlers{Prompt: prompt})
	return res.Removed, err
}

// Login is Service.Login run by the agent, in the agent's environment
// (req.Env is not used: the agent's configuration decides where logins go).
// req.Approve, when set, is asked before the PIN.
func (c *Client) Login(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
	return c.login(ctx, LoginParams{Link: req.Link}, req)
}

// LoginHandoff runs the login the URL handler queued under id.
func (c *Client) LoginHandoff(ctx context.Context, id string, req app.LoginRequest) (*app.LoginResult, error) {
	return c.login(ctx, LoginParams{Handoff: id}, req)
}

func (c *Client) login(ctx context.Context, p LoginParams, req app.LoginRequest) (*app.LoginResult, error) {
	p.Select = wireSelect(req.Select)
	p.Approve = req.Approve != nil
	p.HSAID = req.HSAID
	res, err := Call(ctx, c, MethodLogin, p, Handlers{Prompt: req.Prompt, Approve: req.Approve})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// Export is Service.Export run by the agent: the agent (the same user)
// writes the files into dir, made absolute here.
func (c *Client) Export(ctx context.Context, sel app.Selector, dir string, format app.ExportFormat) ([]app.ExportedFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return Call(ctx, c, MethodExport, ExportParams{Select: wireSelect(sel), Dir: abs, Format: string(format)}, Handlers{})
}

// QR is Service.QR run by the agent, in the agent's environment.
func (c *Client) QR(ctx context.Context, link string, size int) (*app.QRHandover, error) {
	return c.qr(ctx, QRParams{Link: link, Size: size})
}

// QRHandoff is QR for the order the URL handler queued under id; the
// handoff stays queued.
func (c *Client) QRHandoff(ctx context.Context, id string, size int) (*app.QRHandover, error) {
	return c.qr(ctx, QRParams{Handoff: id, Size: size})
}

func (c *Client) qr(ctx context.Context, p QRParams) (*app.QRHandover, error) {
	h, err := Call(ctx, c, MethodQR, p, Handlers{})
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// Diagnostics has the agent write the diagnostics archive ("sithseid
// diag") to path, made absolute here: the agent reads the cards.
func (c *Client) Diagnostics(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	_, err = Call(ctx, c, MethodDiagnostics, DiagnosticsParams{Path: abs}, Handlers{})
	return err
}

// Handoff queues a sithseid: login URL at the agent and returns at once.
func (c *Client) Handoff(ctx context.Context, url string) (HandoffReceipt, error) {
	return Call(ctx, c, MethodHandoff, HandoffParams{URL: url}, Handlers{})
}

// Subscribe streams the agent's state and notifications: first the state
// now, then every change, until ctx is done or the connection ends; the
// channel is closed then. A client that falls behind by more than 64
// events is disconnected by the agent.
func (c *Client) Subscribe(ctx context.Context) (<-chan Event, error) {
	out := make(chan Event, 64)
	first := make(chan error, 1)
	go func() {
		defer close(out)
		started := false
		_, err := Call(ctx, c, MethodSubscribe, None{}, Handlers{Event: func(ev Event) bool {
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

// Start starts exe with args as a detached agent process (a session of
// its own, standard streams on the null device) and waits up to wait for an
// agent to answer at addr; whichever agent answers (the new one, or one that
// won a race to start) is reported. Roles start the agent through startup.Session.Connect.
func Start(ctx context.Context, exe string, args []string, addr string, wait time.Duration) (AgentInfo, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return AgentInfo{}, err
	}
	defer null.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = detach.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return AgentInfo{}, fmt.Errorf("starting the agent: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if this process outlives it
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		info, err := pingAddress(pctx, addr)
		pcancel()
		if err == nil {
			return info, nil
		}
		select {
		case <-ctx.Done():
			return AgentInfo{}, fmt.Errorf("the agent did not answer within %v: %w", wait, err)
		case werr := <-exited:
			// It may have lost a race to another agent: ask once more.
			if info, err := pingAddress(ctx, addr); err == nil {
				return info, nil
			}
			return AgentInfo{}, fmt.Errorf("the agent exited at start (%v): %w", werr, ErrNoAgent)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
