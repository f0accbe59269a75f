package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/localsocket"
	"github.com/sithseid/sithseid/startup"
)

// operations are the card operations the CLI runs: in-process on a
// Service, or through the running agent's local API. Both satisfy it.
type operations interface {
	Status(context.Context, app.StatusOptions) (*app.Status, error)
	ChangePIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
	UnblockPIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
	RemoveCertificate(context.Context, app.Selector, string, app.RemoveOptions, app.Prompt) error
	RemoveExpired(context.Context, app.Selector, app.RemoveOptions, app.Prompt) ([]string, error)
	RemoveEID(context.Context, app.Selector, string, app.RemoveOptions, app.Prompt) ([]string, error)
	Login(context.Context, app.LoginRequest) (*app.LoginResult, error)
}

var (
	_ operations = (*app.Service)(nil)
	_ operations = (*localapi.Client)(nil)
	_ operations = (*agentOps)(nil)
)

// viaAgent returns a client of this session's agent, or nil when none
// answers, SITHSEID_NO_AGENT=1 is set, or the command names a backend or
// module (the agent has its own): the caller then runs in-process. The
// connection is made within agentAnswerWait, and the agent must answer
// within what is left of it (Client.Probe): its ping goes out beside the
// command's call rather than a round trip before it, and an agent that
// answers neither leaves the call to run in-process (agentOps).
func (r *runner) viaAgent(ctx context.Context, cf *cardFlags) *localapi.Client {
	if r.Getenv("SITHSEID_NO_AGENT") == "1" || cf.backend != r.s.Backend("") || cf.module != r.s.PKCS11Module("") {
		return nil
	}
	addr, err := r.s.AgentAddress("")
	if err != nil {
		return nil
	}
	deadline := time.Now().Add(agentAnswerWait)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c, err := r.s.Connect(dctx, addr, false)
	if err != nil {
		// Another user's socket directory (issue 14 item 9): the command
		// goes on with the card in this process, and says why the agent
		// was passed over and what mends it.
		var notOwner *localsocket.NotOwnerError
		if errors.As(err, &notOwner) {
			r.s.Log.Warn("the agent's socket is another user's; running in-process", "err", err)
			fmt.Fprintln(r.Stderr, r.cat.T("warn.socket_not_owner_inprocess", notOwner.Path))
		}
		return nil
	}
	c.Probe(time.Until(deadline))
	return c
}

// agentAnswerWait bounds the connection to the agent and its first answer.
const agentAnswerWait = time.Second

// operations returns the running agent when there is one, else an
// in-process Service; done releases either.
func (r *runner) operations(ctx context.Context, cf *cardFlags) (operations, func(), error) {
	if c := r.viaAgent(ctx, cf); c != nil {
		a := &agentOps{c: c, r: r, cf: cf}
		return a, a.close, nil
	}
	return r.service(cf)
}

// agentOps runs the operations through the agent, and in this process
// when the agent took the connection but answered nothing
// (localapi.ErrUnresponsive: it then had none of the call's secrets, so it
// did nothing that needs one, and the call is not done twice).
type agentOps struct {
	c    *localapi.Client
	r    *runner
	cf   *cardFlags
	done func() // of the in-process Service, once made
}

func (a *agentOps) close() {
	_ = a.c.Close()
	if a.done != nil {
		a.done()
	}
}

// orInProcess runs f through the agent, or in this process when the agent
// did not answer.
func orInProcess[T any](a *agentOps, f func(operations) (T, error)) (T, error) {
	v, err := f(a.c)
	if !errors.Is(err, localapi.ErrUnresponsive) {
		return v, err
	}
	a.r.s.Log.Info("the agent answers nothing; running in-process", "err", err)
	svc, done, err := a.r.service(a.cf)
	if err != nil {
		var zero T
		return zero, err
	}
	a.done = done
	return f(svc)
}

func (a *agentOps) Status(ctx context.Context, o app.StatusOptions) (*app.Status, error) {
	return orInProcess(a, func(ops operations) (*app.Status, error) { return ops.Status(ctx, o) })
}

func (a *agentOps) ChangePIN(ctx context.Context, sel app.Selector, pin cardreader.PINRef, p app.Prompt) error {
	_, err := orInProcess(a, func(ops operations) (struct{}, error) { return struct{}{}, ops.ChangePIN(ctx, sel, pin, p) })
	return err
}

func (a *agentOps) UnblockPIN(ctx context.Context, sel app.Selector, pin cardreader.PINRef, p app.Prompt) error {
	_, err := orInProcess(a, func(ops operations) (struct{}, error) { return struct{}{}, ops.UnblockPIN(ctx, sel, pin, p) })
	return err
}

func (a *agentOps) RemoveCertificate(ctx context.Context, sel app.Selector, id string, o app.RemoveOptions, p app.Prompt) error {
	_, err := orInProcess(a, func(ops operations) (struct{}, error) {
		return struct{}{}, ops.RemoveCertificate(ctx, sel, id, o, p)
	})
	return err
}

func (a *agentOps) RemoveExpired(ctx context.Context, sel app.Selector, o app.RemoveOptions, p app.Prompt) ([]string, error) {
	return orInProcess(a, func(ops operations) ([]string, error) { return ops.RemoveExpired(ctx, sel, o, p) })
}

func (a *agentOps) RemoveEID(ctx context.Context, sel app.Selector, hsaID string, o app.RemoveOptions, p app.Prompt) ([]string, error) {
	return orInProcess(a, func(ops operations) ([]string, error) { return ops.RemoveEID(ctx, sel, hsaID, o, p) })
}

func (a *agentOps) Login(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
	return orInProcess(a, func(ops operations) (*app.LoginResult, error) { return ops.Login(ctx, req) })
}

// operationsUnless is operations, but in-process when local is true.
func (r *runner) operationsUnless(ctx context.Context, cf *cardFlags, local bool) (operations, func(), error) {
	if local {
		return r.service(cf)
	}
	return r.operations(ctx, cf)
}

// Handoff hands a sithseid: login URL to this session's agent, starting one
// (this same binary, "agent --foreground") when none answers and waiting at
// most 3 s for it, and returns at once with an exit code: the agent runs
// the login. main calls it for a lone sithseid: argument from a browser.
// It starts as every role does (package startup): its log lines go to the
// log file when e.LogToFile, its messages follow the configured language.
func Handoff(ctx context.Context, e Env, url string) int {
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	s := startup.Start(startup.Env{Getenv: e.Getenv, Log: e.Log, LogToFile: e.LogToFile})
	defer s.Close()
	cat := s.Catalog("")
	err := handoff(ctx, s, url)
	if err == nil {
		return ExitOK
	}
	s.Log.Info("handoff failed", "err", err)
	return report(e.Stderr, cat, s.Settings.Helpdesk, err)
}

func handoff(ctx context.Context, s *startup.Session, url string) error {
	addr, err := s.AgentAddress("")
	if err != nil {
		return err
	}
	c, err := s.Connect(ctx, addr, true)
	if err != nil {
		return err
	}
	defer c.Close()
	rec, err := c.Handoff(ctx, url)
	if err != nil {
		return err
	}
	s.Log.Info("login handed to the agent", "handoff", rec.ID, "queued", rec.Queued)
	return nil
}
