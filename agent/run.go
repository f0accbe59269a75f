package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/backends"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/appid"
	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/nodump"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/startup"
)

// Env is what the agent role ("sithseid agent") sees of its process.
type Env struct {
	// Args after "agent".
	Args    []string
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
	Version string
	// Log receives what happens (nil: the log file when LogToFile, else
	// discarded).
	Log       *slog.Logger
	LogToFile bool
}

// Run runs "sithseid agent [--foreground] [--socket PATH] [--no-tray]
// [--backend B] [--pkcs11-module PATH] [--lang sv|en]": the resident
// per-session process. Without --foreground it starts itself detached and
// returns once the agent answers. In the foreground it runs until SIGTERM
// or SIGINT and removes its socket on the way out. It returns the exit
// code (internal/exitcode; ExitAgentRunning when this session has one).
func Run(ctx context.Context, e Env) int {
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	s := startup.Start(startup.Env{Getenv: e.Getenv, Log: e.Log, LogToFile: e.LogToFile})
	defer s.Close()
	// On Windows the tray icon is the application's, as the windows and
	// the Start menu's shortcut are (one AppUserModelID, internal/appid).
	if err := appid.Apply(); err != nil {
		s.Log.Info("AppUserModelID not set", "err", err)
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := options{
		foreground: fs.Bool("foreground", false, "run in this process until SIGTERM"),
		socket:     fs.String("socket", "", "local API socket (default: the session's)"),
		noTray:     fs.Bool("no-tray", false, "no icon in the notification area"),
		backend:    fs.String("backend", "", strings.Join(cardreader.Preferences, ", ")),
		module:     fs.String("pkcs11-module", "", "PKCS#11 module path"),
		lang:       fs.String("lang", "", "sv or en"),
	}
	perr := fs.Parse(e.Args)
	cat := s.Catalog(*o.lang)
	switch {
	case errors.Is(perr, flag.ErrHelp):
		fmt.Fprintln(e.Stdout, Usage(cat))
		return exitcode.OK
	case perr != nil || fs.NArg() > 0:
		fmt.Fprintln(e.Stderr, Usage(cat))
		return exitcode.Usage
	}
	logIgnoredByPolicy(s, o)
	err := s.ConfigErr
	if err == nil {
		err = run(ctx, s, cat, e, o)
	}
	if err == nil {
		return exitcode.OK
	}
	s.Log.Info("command failed", "cmd", "agent", "err", err)
	msg, hint, code := exitcode.Explain(cat, err)
	fmt.Fprintln(e.Stderr, msg)
	if hint != "" {
		fmt.Fprintln(e.Stderr, hint)
	}
	return code
}

// logIgnoredByPolicy logs each flag and variable of the invocation that a
// policy lock overrules: the policy's value stands (startup.Session), and
// the agent has no one to tell but its log, where the CLI says so on
// stderr (issue 14 item 6). A flag equal to the policy's value (the one a
// detaching agent passes its child) overrules nothing.
func logIgnoredByPolicy(s *startup.Session, o options) {
	lang, _ := l10n.Parse(*o.lang)
	for _, f := range []struct{ flag, key, given, used string }{
		{"--backend", config.KeyBackend, *o.backend, s.Backend(*o.backend)},
		{"--pkcs11-module", config.KeyPKCS11Module, *o.module, s.PKCS11Module(*o.module)},
		{"--lang", config.KeyLanguage, string(lang), string(s.Lang(*o.lang))},
	} {
		if f.given != "" && f.given != f.used && s.Locked(f.key) {
			s.Log.Warn("flag ignored: policy locks the setting", "flag", f.flag, "key", f.key, "value", f.used)
		}
	}
	for _, v := range s.IgnoredVariables() {
		s.Log.Warn("variable ignored: policy locks the setting", "variable", v.Name, "key", v.Key)
	}
}

// Usage is "sithseid agent --help".
func Usage(cat *l10n.Catalog) string {
	return cat.T("help.agent", strings.Join(cardreader.Preferences, "|"))
}

type options struct {
	foreground, noTray    *bool
	socket, backend, lang *string
	module                *string
}

func run(ctx context.Context, s *startup.Session, cat *l10n.Catalog, e Env, o options) error {
	addr, err := s.AgentAddress(*o.socket)
	if err != nil {
		return err
	}
	backend, module := s.Backend(*o.backend), s.PKCS11Module(*o.module)
	if !*o.foreground {
		if c, err := localapi.DialAddress(ctx, addr); err == nil {
			c.Close()
			return fmt.Errorf("%w (%s)", localapi.ErrAgentRunning, addr)
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		child := []string{"agent", "--foreground", "--socket", addr}
		if backend != "" {
			child = append(child, "--backend", backend)
		}
		if module != "" {
			child = append(child, "--pkcs11-module", module)
		}
		if *o.noTray {
			child = append(child, "--no-tray")
		}
		_, err = localapi.Start(ctx, exe, child, addr, startup.AgentStartWait)
		return err
	}

	// The agent holds PINs while it works: no core dump, and on Linux no
	// reader of its memory but root (internal/nodump, issue 14).
	if err := nodump.Apply(); err != nil {
		s.Log.Warn("core dumps stay possible", "err", err)
	}
	env, err := s.Environment("", "")
	if err != nil && !errors.Is(err, environment.ErrNotConfigured) {
		return err
	}
	// An environment without endpoints still runs the agent: card
	// operations work, and a login says the environment is not set up.
	svc, done, err := backends.Service(backends.Options{
		Preference:        backend,
		PKCS11Module:      module,
		ManagementKeyFile: s.Settings.PIVManagementKeyFile,
		Log:               s.Log,
		DeviceKey:         s.DeviceKey,
		// Which of several organisations' eIDs is the default (issue 15).
		EIDPreferences:      s.Config.EIDPreferences(),
		DefaultOrganisation: s.Settings.DefaultOrganisation,
	})
	if err != nil {
		return err
	}
	defer done()
	// The agent runs until ctx ends, it stops, or the tray's Quit.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	desk := newAgentDesktop(runCtx, s, cat, env, stop)
	a, err := New(Options{
		Service:     svc,
		Environment: env,
		// The warning days come from the configuration (policy or user).
		ExpiryWarningDays: s.Settings.ExpiryWarningDays,
		Address:           addr,
		Version:           e.Version,
		Log:               s.Log,
		Notify:            desk.notify,
		Diagnostics: func(ctx context.Context, path string) error {
			return diag.WriteFile(ctx, path, DiagnosticsOptions(s, e.Version, module, svc))
		},
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
	// Idle most of its life: what start-up and each card read leave on
	// the heap goes back to the system once the agent is quiet (idlemem.go).
	go releaseWhenIdle(runCtx, a.States(runCtx), idleRelease, debug.FreeOSMemory)
	// The tray, when there is one, runs in this goroutine: on macOS and
	// Windows systray needs the thread main started on.
	desk.run(runCtx, !*o.noTray)
	return a.Close()
}

// DiagnosticsOptions are what "sithseid diag" and the agent's diag method
// put in the archive: the session's configuration, the module in use (the
// flag, SITHSEID_PKCS11_MODULE or the configuration), the log directory,
// and the card service when there is one.
func DiagnosticsOptions(s *startup.Session, version, module string, svc *app.Service) diag.Options {
	opts := diag.Options{Version: version, Config: s.Config, Service: svc, PKCS11Module: module, PKCS11Defaults: backends.PKCS11Defaults()}
	if dir, err := logfile.DirEnv(s.Getenv); err == nil {
		opts.LogDir = dir
	}
	if s.ConfigErr != nil {
		opts.Problems = append(opts.Problems, "configuration: "+s.ConfigErr.Error())
	}
	return opts
}
