package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// agentStartWait is how long the URL handler and "sithseid agent" wait for
// a freshly started agent to answer.
const agentStartWait = 3 * time.Second

// agent runs "sithseid agent [--foreground] [--socket PATH]": the resident
// per-session process. Without --foreground it starts itself detached and
// returns once the agent answers. In the foreground it runs until SIGTERM
// or SIGINT and removes its socket on the way out.
func (r *runner) agent(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("agent", &cf)
	foreground := fs.Bool("foreground", false, "run in this process until SIGTERM")
	socket := fs.String("socket", "", "local API socket (default: the session's)")
	noTray := fs.Bool("no-tray", false, "no icon in the notification area")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	addr := *socket
	if addr == "" {
		var err error
		if addr, err = localapi.Address(r.Getenv); err != nil {
			return err
		}
	}
	if !*foreground {
		if c, err := localapi.DialAddress(ctx, addr); err == nil {
			c.Close()
			return fmt.Errorf("%w (%s)", localapi.ErrAgentRunning, addr)
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		child := []string{"agent", "--foreground", "--socket", addr}
		if cf.backend != "" {
			child = append(child, "--backend", cf.backend)
		}
		if cf.module != "" {
			child = append(child, "--pkcs11-module", cf.module)
		}
		if *noTray {
			child = append(child, "--no-tray")
		}
		_, err = agent.Spawn(ctx, exe, child, addr, agentStartWait)
		return err
	}

	env, err := r.environment("", "")
	if err != nil && !errors.Is(err, environment.ErrNotConfigured) {
		return err
	}
	// An environment without endpoints still runs the agent: card
	// operations work, and a login says the environment is not set up.
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	// The agent runs until ctx ends, it stops, or the tray's Quit.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	desk := r.newAgentDesktop(runCtx, env, stop)
	a, err := agent.New(agent.Options{
		Service:     svc,
		Environment: env,
		// The warning days come from the configuration (policy or user).
		ExpiryWarningDays: r.cfg.ExpiryWarningDays,
		Address:           addr,
		Version:           r.Version,
		Log:               r.Log,
		Notify:            desk.notify,
	})
	if err != nil {
		return err
	}
	desk.agent = a
	if err := a.Start(runCtx); err != nil {
		return err
	}
	go func() {
		<-a.Done()
		stop()
	}()
	// The tray, when there is one, runs in this goroutine: on macOS and
	// Windows systray needs the thread main started on.
	desk.run(runCtx, !*noTray)
	return a.Close()
}

// operations are the card operations the CLI runs: in-process on a
// Service, or through the running agent's local API. Both satisfy it.
type operations interface {
	Status(context.Context, app.StatusOptions) (*app.Status, error)
	ChangePIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
	UnblockPIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
	RemoveCertificate(context.Context, app.Selector, string, app.RemoveOptions, app.Prompt) error
	RemoveExpired(context.Context, app.Selector, app.RemoveOptions, app.Prompt) ([]string, error)
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
	if r.Getenv("SITHSEID_NO_AGENT") == "1" || cf.backend != r.setting("SITHSEID_BACKEND", r.cfg.Backend) || cf.module != r.setting("SITHSEID_PKCS11_MODULE", r.cfg.PKCS11Module) {
		return nil
	}
	addr, err := localapi.Address(r.Getenv)
	if err != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := localapi.DialAddress(dctx, addr)
	if err != nil {
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
// the login. main calls it for a lone sithseid: argument:
//
//	if len(args) == 1 && strings.HasPrefix(args[0], "sithseid:") {
//		return cli.Handoff(ctx, env, args[0])
//	}
func Handoff(ctx context.Context, e Env, url string) int {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	lang, _ := splitLang(nil, e.Getenv, "")
	cat := l10n.MustLoad(lang)
	err := handoff(ctx, e, url)
	if err == nil {
		return ExitOK
	}
	e.Log.Info("handoff failed", "err", err)
	msg, hint, code := explain(cat, err)
	fmt.Fprintln(e.Stderr, msg)
	if hint != "" {
		fmt.Fprintln(e.Stderr, hint)
	}
	return code
}

func handoff(ctx context.Context, e Env, url string) error {
	addr, err := localapi.Address(e.Getenv)
	if err != nil {
		return err
	}
	c, err := localapi.DialAddress(ctx, addr)
	if errors.Is(err, localapi.ErrNoAgent) {
		exe, xerr := os.Executable()
		if xerr != nil {
			return xerr
		}
		if _, err := agent.Spawn(ctx, exe, []string{"agent", "--foreground", "--socket", addr}, addr, agentStartWait); err != nil {
			return err
		}
		c, err = localapi.DialAddress(ctx, addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	rec, err := c.Handoff(ctx, url)
	if err != nil {
		return err
	}
	e.Log.Info("login handed to the agent", "handoff", rec.ID, "queued", rec.Queued)
	return nil
}
