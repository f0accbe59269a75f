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
)

// viaAgent returns a client of this session's agent, or nil when none
// answers, SITHSEID_NO_AGENT=1 is set, or the command names a backend or
// module (the agent has its own): the caller then runs in-process.
func (r *runner) viaAgent(ctx context.Context, cf *cardFlags) *localapi.Client {
	if r.Getenv("SITHSEID_NO_AGENT") == "1" || cf.backend != r.s.Backend("") || cf.module != r.s.PKCS11Module("") {
		return nil
	}
	addr, err := r.s.AgentAddress("")
	if err != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
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
	if _, err := c.Ping(dctx); err != nil {
		c.Close()
		return nil
	}
	return c
}

// operations returns the running agent when there is one, else an
// in-process Service; done releases either.
func (r *runner) operations(ctx context.Context, cf *cardFlags) (operations, func(), error) {
	if c := r.viaAgent(ctx, cf); c != nil {
		return c, func() { _ = c.Close() }, nil
	}
	return r.service(cf)
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
	msg, hint, code := explain(cat, err)
	fmt.Fprintln(e.Stderr, msg)
	if hint != "" {
		fmt.Fprintln(e.Stderr, hint)
	}
	return code
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
