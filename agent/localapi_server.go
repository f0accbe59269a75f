package agent

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/localapi"
)

// serve serves the local API (localapi.Server) until the listener closes.
func (a *Agent) serve(ctx context.Context) {
	defer a.wg.Done()
	srv := &localapi.Server{Handlers: a.handlers(), Begin: a.begin, Log: a.log}
	srv.Serve(ctx, a.ln)
}

// handlers is the local API as the agent serves it: one handler per method
// of localapi's table.
func (a *Agent) handlers() []localapi.Handler {
	return []localapi.Handler{
		localapi.Handle(localapi.MethodPing, func(_ context.Context, x *localapi.Request, _ localapi.None) (localapi.AgentInfo, error) {
			return localapi.AgentInfo{PID: os.Getpid(), Version: a.opts.Version, Started: a.started.Format(time.RFC3339)}, nil
		}),
		localapi.Handle(localapi.MethodStatus, func(ctx context.Context, x *localapi.Request, p localapi.StatusParams) (app.Status, error) {
			st, fresh, err := a.status(ctx, app.StatusOptions{Select: p.Select.Selector(), ShowPersonalNumber: p.ShowPersonalNumber, ExpiryWarning: time.Duration(p.ExpiryWarningNs)})
			if err != nil {
				return app.Status{}, err
			}
			// A full, masked status is the freshest state there is: publish it.
			if p.Select == (localapi.SelectParams{}) && !p.ShowPersonalNumber && fresh {
				a.apply(st)
			}
			return *st, nil
		}),
		localapi.Handle(localapi.MethodSubscribe, func(ctx context.Context, x *localapi.Request, _ localapi.None) (localapi.None, error) {
			return localapi.None{}, a.subscribe(ctx, x)
		}).Stream(),
		localapi.Handle(localapi.MethodPINChange, func(ctx context.Context, x *localapi.Request, p localapi.PINParams) (localapi.None, error) {
			o, err := a.svc.ChangePINOutcome(ctx, p.Select.Selector(), p.PIN, x.Prompt())
			a.leaveOutcome(localapi.MethodPINChange.Name, o)
			return localapi.None{}, err
		}).CardOp(),
		localapi.Handle(localapi.MethodPINUnblock, func(ctx context.Context, x *localapi.Request, p localapi.PINParams) (localapi.None, error) {
			o, err := a.svc.UnblockPINOutcome(ctx, p.Select.Selector(), p.PIN, x.Prompt())
			a.leaveOutcome(localapi.MethodPINUnblock.Name, o)
			return localapi.None{}, err
		}).CardOp(),
		localapi.Handle(localapi.MethodCertRemove, func(ctx context.Context, x *localapi.Request, p localapi.CertRemoveParams) (localapi.None, error) {
			return localapi.None{}, a.svc.RemoveCertificate(ctx, p.Select.Selector(), p.CertID, app.RemoveOptions{ConfirmLogin: p.ConfirmLogin}, x.Prompt())
		}).CardOp(),
		localapi.Handle(localapi.MethodEIDRemove, func(ctx context.Context, x *localapi.Request, p localapi.EIDRemoveParams) (localapi.RemovedResult, error) {
			ids, err := a.svc.RemoveEID(ctx, p.Select.Selector(), p.HSAID, app.RemoveOptions{ConfirmLogin: p.ConfirmLogin}, x.Prompt())
			if ids == nil {
				ids = []string{}
			}
			return localapi.RemovedResult{Removed: ids}, err
		}).CardOp(),
		localapi.Handle(localapi.MethodRemoveExpired, func(ctx context.Context, x *localapi.Request, p localapi.CertRemoveParams) (localapi.RemovedResult, error) {
			ids, err := a.svc.RemoveExpired(ctx, p.Select.Selector(), app.RemoveOptions{ConfirmLogin: p.ConfirmLogin}, x.Prompt())
			if ids == nil {
				ids = []string{}
			}
			return localapi.RemovedResult{Removed: ids}, err
		}).CardOp(),
		localapi.Handle(localapi.MethodLogin, func(ctx context.Context, x *localapi.Request, p localapi.LoginParams) (app.LoginResult, error) {
			link := p.Link
			if p.Handoff != "" {
				var err error
				if link, err = a.takeHandoff(p.Handoff); err != nil {
					return app.LoginResult{}, err
				}
			}
			req := app.LoginRequest{Link: link, Select: p.Select.Selector(), Env: a.environment(), Prompt: x.Prompt(), HSAID: p.HSAID}
			if p.Approve {
				req.Approve = x.Approve()
			}
			res, o, err := a.svc.LoginOutcome(ctx, req)
			a.leaveOutcome(localapi.MethodLogin.Name, o)
			if p.Handoff != "" {
				a.settleHandoff(p.Handoff, err)
			}
			if err != nil {
				return app.LoginResult{}, err
			}
			return *res, nil
		}).CardOp(),
		localapi.Handle(localapi.MethodExport, func(ctx context.Context, x *localapi.Request, p localapi.ExportParams) ([]app.ExportedFile, error) {
			files, err := a.svc.Export(ctx, p.Select.Selector(), p.Dir, app.ExportFormat(p.Format))
			if files == nil {
				files = []app.ExportedFile{}
			}
			return files, err
		}).CardOp(),
		localapi.Handle(localapi.MethodQR, func(ctx context.Context, x *localapi.Request, p localapi.QRParams) (app.QRHandover, error) {
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
		localapi.Handle(localapi.MethodHandoff, func(_ context.Context, x *localapi.Request, p localapi.HandoffParams) (localapi.HandoffReceipt, error) {
			return a.queueHandoff(p.URL)
		}),
		localapi.Handle(localapi.MethodDiagnostics, func(ctx context.Context, x *localapi.Request, p localapi.DiagnosticsParams) (localapi.None, error) {
			if a.opts.Diagnostics == nil {
				return localapi.None{}, fmt.Errorf("%q: %w", localapi.MethodDiagnostics.Name, localapi.ErrUnknownMethod)
			}
			return localapi.None{}, a.opts.Diagnostics(ctx, p.Path)
		}),
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
func (a *Agent) subscribe(ctx context.Context, x *localapi.Request) error {
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
	if err := x.Send(localapi.Event{State: &st}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.overflow:
			a.log.Warn("local API subscriber too slow: dropped")
			x.Hangup()
			return nil
		case ev := <-s.ch:
			if err := x.Send(ev); err != nil {
				return err
			}
		}
	}
}
