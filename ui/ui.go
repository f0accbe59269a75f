package ui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/assets"
	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/idprime"
	"github.com/sithseid/sithseid/cardreader/piv"
	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/ui/views"
)

// AppID is the Fyne application ID (FyneApp.toml).
const AppID = "io.github.sithseid.desktop"

// agentStartWait is how long a window waits for an agent it started.
const agentStartWait = 3 * time.Second

// windowWidth is the windows' width in Fyne units (scaled with
// FYNE_SCALE): room for a sentence, a form and four buttons.
const windowWidth = 580

// Env is what the ui process sees of its invocation.
type Env struct {
	// Args after "ui": VIEW [--handoff ID] [--lang sv|en] [--card N] [--socket PATH].
	Args    []string
	Stderr  io.Writer
	Getenv  func(string) string
	Version string
	// Log receives what happens; nil opens the product's log file.
	Log *slog.Logger
}

// Run shows the window of one view until it is closed and returns the
// process's exit code: 0, or 2 for a command line it cannot use.
func Run(ctx context.Context, e Env) int {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	cfg, cfgErr := config.Load(config.Options{LenientUser: true})
	var settings config.Settings
	if cfgErr == nil {
		settings = cfg.Effective()
	}
	if e.Log == nil {
		level, _ := config.ParseLogLevel(settings.LogLevel)
		if l, err := logfile.Open(logfile.Options{Level: level}); err == nil {
			defer l.Close()
			e.Log = l.Logger
		} else {
			e.Log = slog.New(slog.DiscardHandler)
		}
	}
	fs := flag.NewFlagSet("ui", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	handoff := fs.String("handoff", "", "the queued login request (login, qr)")
	lang := fs.String("lang", "", "sv or en")
	card := fs.String("card", "", "card number, when several cards are inserted")
	socket := fs.String("socket", "", "the agent's local API socket")
	view := ""
	args := e.Args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		view, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		view = "?"
	}
	if view == "" {
		view = views.NameStatus
	}
	override := *lang
	if override == "" {
		override = e.Getenv("SITHSEID_LANG")
	}
	if override == "" {
		override = settings.Language
	}
	cat := l10n.MustLoad(l10n.Detect(override, e.Getenv))
	if !slices.Contains(views.Names, view) || ((view == views.NameLogin || view == views.NameQR) && *handoff == "") {
		fmt.Fprintln(e.Stderr, cat.T("ui.usage", strings.Join(views.Names, ", ")))
		return 2
	}
	if cfgErr != nil {
		e.Log.Info("configuration", "err", cfgErr)
	}

	a := fyneapp.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("sithseid.png", assets.WindowIcon()))
	w := a.NewWindow("SITHS eID")
	env := &views.Env{Cat: cat, Log: e.Log, Card: *card, Close: w.Close, AutoClose: 3 * time.Second,
		// The window keeps its width and shrinks to what its contents
		// need (Fyne never makes a window smaller than their minimum).
		Fit: func() { w.Resize(fyne.NewSize(windowWidth, 1)) }}

	client, err := connect(ctx, e, *socket, view)
	var v views.View
	switch {
	case err != nil && view != views.NameSettings && view != views.NameAbout:
		e.Log.Info("no agent", "err", err)
		v = views.NewUnavailable(env, err)
	default:
		v = build(ctx, env, e, view, client, cfg, *handoff)
	}
	if client != nil {
		defer client.Close()
	}
	w.SetTitle(v.Title() + " – SITHS eID")
	w.SetContent(v.Content())
	w.Resize(fyne.NewSize(windowWidth, 1))
	w.CenterOnScreen()
	w.SetOnClosed(v.Stop)
	go func() {
		<-ctx.Done()
		fyne.Do(w.Close)
	}()
	v.Start(w)
	go func() {
		// Wrapped text knows its height only once laid out at the
		// window's width: shrink again after the first frames.
		for _, d := range []time.Duration{200 * time.Millisecond, 800 * time.Millisecond} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
				fyne.Do(env.Fit)
			}
		}
	}()
	w.ShowAndRun()
	v.Stop()
	return 0
}

// connect reaches this session's agent, starting one when none answers
// (as the URL handler does). The settings and about views work without.
func connect(ctx context.Context, e Env, socket, view string) (*localapi.Client, error) {
	addr := socket
	if addr == "" {
		var err error
		if addr, err = localapi.Address(e.Getenv); err != nil {
			return nil, err
		}
	}
	dctx, cancel := context.WithTimeout(ctx, agentStartWait)
	defer cancel()
	c, err := localapi.DialAddress(dctx, addr)
	if errors.Is(err, localapi.ErrNoAgent) && view != views.NameSettings && view != views.NameAbout {
		exe, xerr := os.Executable()
		if xerr != nil {
			return nil, xerr
		}
		if _, err := agent.Spawn(ctx, exe, []string{"agent", "--foreground", "--socket", addr}, addr, agentStartWait); err != nil {
			return nil, err
		}
		c, err = localapi.DialAddress(dctx, addr)
	}
	return c, err
}

func build(ctx context.Context, env *views.Env, e Env, view string, c *localapi.Client, cfg *config.Config, handoff string) views.View {
	switch view {
	case views.NamePIN:
		return views.NewPINChange(env, c)
	case views.NameUnblock:
		return views.NewUnblock(env, c)
	case views.NameCerts:
		return views.NewCerts(env, c)
	case views.NameLogin:
		return views.NewLogin(env, c, handoff)
	case views.NameQR:
		return views.NewQR(env, c, handoff)
	case views.NameSettings:
		return views.NewSettings(env, preferences(cfg), autostartControls(e.Getenv))
	case views.NameAbout:
		info := views.AboutInfo{Version: e.Version, Diagnostics: diagnostics(e, cfg)}
		if cfg != nil {
			info.Environment = cfg.Effective().Environment
		}
		// As for the agent and the CLI, the variable overrides the
		// configured environment.
		if env := e.Getenv("SITHSEID_ENV"); env != "" {
			info.Environment = strings.ToUpper(env)
		}
		if c != nil {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			if ai, err := c.Ping(pctx); err == nil {
				info.AgentVersion = ai.Version
			}
			cancel()
		}
		return views.NewAbout(env, info)
	}
	return views.NewStatus(env, c)
}

// preferences is the loaded configuration, or one with defaults only when
// it did not load (the view then says so when saving).
func preferences(cfg *config.Config) views.Preferences {
	if cfg != nil {
		return cfg
	}
	c, err := config.Load(config.Options{NoSystemPolicy: true, LenientUser: true})
	if err != nil {
		return brokenConfig{err}
	}
	return c
}

type brokenConfig struct{ err error }

func (b brokenConfig) Effective() config.Settings   { return config.Settings{} }
func (b brokenConfig) Locked(string) bool           { return true }
func (b brokenConfig) SetUser(string, string) error { return b.err }
func (b brokenConfig) UnsetUser(string) error       { return b.err }

func autostartControls(getenv func(string) string) views.Autostart {
	o := autostart.Options{Getenv: getenv}
	return views.Autostart{
		State:     func(ctx context.Context) ([]autostart.Entry, error) { return autostart.State(ctx, o) },
		Install:   func(ctx context.Context) (*autostart.Entry, error) { return autostart.Install(ctx, o) },
		Uninstall: func(ctx context.Context) ([]autostart.Entry, error) { return autostart.Uninstall(ctx, o) },
	}
}

// diagnostics writes the archive as "sithseid diag" does, in this process.
func diagnostics(e Env, cfg *config.Config) func(context.Context, string) error {
	return func(ctx context.Context, path string) error {
		opts := diag.Options{Version: e.Version, Config: cfg, PKCS11Defaults: pkcs11.DefaultModulePaths()}
		var s config.Settings
		if cfg != nil {
			s = cfg.Effective()
		}
		opts.PKCS11Module = s.PKCS11Module
		if dir, err := logfile.DirEnv(e.Getenv); err == nil {
			opts.LogDir = dir
		}
		cache := cardreader.NewIdentityCache(cardreader.DefaultIdentityCacheSize)
		p11 := pkcs11.New(pkcs11.Options{ModulePath: s.PKCS11Module})
		defer p11.Close()
		svc, err := app.NewService(app.Options{
			Backends:   []cardreader.Backend{idprime.New(idprime.Options{Cache: cache}), piv.New(piv.Options{Cache: cache}), p11},
			Preference: s.Backend,
			Readers:    cardreader.ListReaders,
			Cache:      cache,
			Log:        e.Log,
		})
		if err != nil {
			opts.Problems = append(opts.Problems, "card service: "+err.Error())
		} else {
			opts.Service = svc
		}
		return diag.WriteFile(ctx, path, opts)
	}
}
