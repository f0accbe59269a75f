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

	"github.com/sithseid/sithseid/assets"
	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/nodump"
	"github.com/sithseid/sithseid/internal/uiexe"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/startup"
	uitheme "github.com/sithseid/sithseid/ui/theme"
	"github.com/sithseid/sithseid/ui/viewname"
	"github.com/sithseid/sithseid/ui/views"
)

// AppID is the Fyne application ID (FyneApp.toml).
const AppID = "io.github.sithseid.desktop"

// WindowClass is the windows' WM_CLASS on Linux (both parts): the
// launcher's StartupWMClass in packaging/linux/sithseid.desktop.
const WindowClass = "sithseid"

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
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	s := start(e)
	defer s.Close()
	e.Getenv, e.Log = s.Getenv, s.Log
	// The window takes PINs: no core dump of it (internal/nodump).
	if err := nodump.Apply(); err != nil {
		e.Log.Warn("core dumps stay possible", "err", err)
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
		view = viewname.Status
	}
	cat := s.Catalog(*lang)
	// A --lang or variable that a policy lock overrules is ignored: the
	// window shows nothing of it, the log says so (issue 14 item 6).
	if l, _ := l10n.Parse(*lang); l != "" && l != s.Lang(*lang) && s.Locked(config.KeyLanguage) {
		e.Log.Warn("flag ignored: policy locks the setting", "flag", "--lang", "key", config.KeyLanguage, "value", string(s.Lang(*lang)))
	}
	for _, v := range s.IgnoredVariables() {
		e.Log.Warn("variable ignored: policy locks the setting", "variable", v.Name, "key", v.Key)
	}
	if !slices.Contains(viewname.All, view) || ((view == viewname.Login || view == viewname.QR) && *handoff == "") {
		fmt.Fprintln(e.Stderr, cat.T("ui.usage", strings.Join(viewname.All, ", ")))
		return 2
	}
	if s.ConfigErr != nil {
		e.Log.Info("configuration", "err", s.ConfigErr)
	}

	a := fyneapp.NewWithID(AppID)
	// The project's theme: checked contrast, light or dark as the OS says.
	// Policy's accentColour is checked again here (config refused a faint
	// one already); an unusable one leaves the theme's own colours.
	th, err := uitheme.New(s.Settings.AccentColour)
	if err != nil {
		e.Log.Info("accent colour", "err", err)
	}
	a.Settings().SetTheme(th)
	a.SetIcon(fyne.NewStaticResource("sithseid.png", assets.WindowIcon()))
	w := a.NewWindow("SITHS eID")
	setWindowClass() // before Show creates the X window
	env := &views.Env{Cat: cat, Log: e.Log, Card: *card, Close: w.Close, AutoClose: 3 * time.Second,
		// The window keeps its width and shrinks to what its contents
		// need (Fyne never makes a window smaller than their minimum).
		Fit: func() { w.Resize(fyne.NewSize(windowWidth, 1)) },
		// The header's banner and card-environment check.
		Environment: environmentName(s)}
	if f := s.Settings.LogoFile; f != "" {
		if b, err := config.ReadLogo(f); err != nil {
			e.Log.Info("logo", "err", err)
		} else {
			env.Logo = fyne.NewStaticResource("logo.png", b)
		}
	}
	env.Helpdesk = s.Settings.Helpdesk // policy's helpdesk (issue 17)

	addr, err := s.AgentAddress(*socket)
	var client *localapi.Client
	if err == nil {
		// The settings and about views work without an agent; the others
		// start one when none answers (as the URL handler does).
		client, err = s.Connect(ctx, addr, view != viewname.Settings && view != viewname.About)
	}
	// The header of the windows that read no card (login, QR, settings,
	// about) shows the card's state as the agent publishes it; without
	// an agent, that the service does not answer.
	if client != nil {
		env.State = client
	} else if err != nil {
		env.State = views.NoAgent(err)
	}
	var v views.View
	switch {
	case err != nil && view != viewname.Settings && view != viewname.About:
		e.Log.Info("no agent", "err", err)
		v = views.NewUnavailable(env, err)
	default:
		v = build(ctx, env, e, s, view, client, addr, *handoff)
	}
	if client != nil {
		defer client.Close()
	}
	w.SetTitle(v.Title() + " – SITHS eID")
	w.SetContent(v.Content())
	w.Resize(fyne.NewSize(windowWidth, 1))
	w.CenterOnScreen()
	live := &liveView{cur: v}
	w.SetOnClosed(live.Stop)
	// ✕ on the login window declines the order as Avbryt does
	// (views.LoginView.CloseRequested), rather than leaving it pending.
	if c, ok := v.(interface{ CloseRequested() }); ok {
		w.SetCloseIntercept(c.CloseRequested)
	}
	go func() {
		<-ctx.Done()
		fyne.Do(w.Close)
	}()
	raiseOnRequest(ctx, w)
	if client != nil || view == viewname.Settings || view == viewname.About {
		// A language or environment saved in Inställningar shows here at
		// once: the view is built again in it, or, where the user may be
		// typing a PIN or a login runs, said again in place.
		followSettings(ctx, s, *lang, func(cat *l10n.Catalog) {
			if r, ok := live.cur.(inPlace); ok && !relanguageable[view] {
				r.Relanguage(cat, environmentName(s), s.Settings.Helpdesk)
				w.SetTitle(live.cur.Title() + " – SITHS eID")
				e.Log.Info("window in another language", "view", view, "lang", string(cat.Lang))
				return
			}
			live.cur.Stop()
			ne := *env
			ne.Cat, ne.Environment, ne.Helpdesk = cat, environmentName(s), s.Settings.Helpdesk
			nv := build(ctx, &ne, e, s, view, client, addr, *handoff)
			live.cur = nv
			w.SetTitle(nv.Title() + " – SITHS eID")
			w.SetContent(nv.Content())
			nv.Start(w)
			env.Fit()
		})
	}
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
	live.Stop()
	return 0
}

// start is the ui process's start-up: every role's (package startup),
// with the log file unless the caller gave a logger.
func start(e Env) *startup.Session {
	return startup.Start(startup.Env{Getenv: e.Getenv, Log: e.Log, LogToFile: e.Log == nil})
}

func build(ctx context.Context, env *views.Env, e Env, s *startup.Session, view string, c *localapi.Client, addr, handoff string) views.View {
	switch view {
	case viewname.PIN:
		return views.NewPINChange(env, c)
	case viewname.Unblock:
		return views.NewUnblock(env, c)
	case viewname.Certs:
		return views.NewCerts(env, c)
	case viewname.Login:
		return views.NewLogin(env, c, handoff)
	case viewname.QR:
		return views.NewQR(env, c, handoff)
	case viewname.Settings:
		return views.NewSettings(env, preferences(s.Config), autostartControls(e.Getenv))
	case viewname.About:
		info := views.AboutInfo{Version: e.Version, Environment: environmentName(s), Diagnostics: diagnostics(e, s, c, addr)}
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

// environmentName is the environment this process runs in, resolved as the
// agent and the CLI resolve it (SITHSEID_ENV over the configuration where
// policy allows switching; an environment not set up is still named).
func environmentName(s *startup.Session) string {
	env, err := s.Environment("", "")
	if err != nil && !errors.Is(err, environment.ErrNotConfigured) {
		s.Log.Info("environment", "err", err)
		if s.Settings.Environment != "" {
			return s.Settings.Environment
		}
		return environment.PROD
	}
	return env.Name
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
	// The entry starts the agent: the main executable, not this window's
	// (sithseid-ui, internal/uiexe). Not found: autostart's own default.
	if exe, err := uiexe.Main(); err == nil {
		o.Executable = exe
	}
	return views.Autostart{
		State:     func(ctx context.Context) ([]autostart.Entry, error) { return autostart.State(ctx, o) },
		Install:   func(ctx context.Context) (*autostart.Entry, error) { return autostart.Install(ctx, o) },
		Uninstall: func(ctx context.Context) ([]autostart.Entry, error) { return autostart.Uninstall(ctx, o) },
	}
}

// diagnostics writes the archive as "sithseid diag" does. The agent owns
// the cards, so the agent writes it (started if none runs); without one,
// this process writes what it can: configuration, readers, logs.
func diagnostics(e Env, s *startup.Session, c *localapi.Client, addr string) func(context.Context, string) error {
	return func(ctx context.Context, path string) error {
		client := c
		if client == nil {
			var err error
			if client, err = s.Connect(ctx, addr, true); err == nil {
				defer client.Close()
			}
		}
		if client != nil {
			err := client.Diagnostics(ctx, path)
			if err == nil || !errors.Is(err, localapi.ErrUnknownMethod) {
				return err
			}
		}
		opts := diagnosticsOptions(e, s)
		opts.Problems = append(opts.Problems, "card service: no agent answered")
		return diag.WriteFile(ctx, path, opts)
	}
}

// diagnosticsOptions are the archive's options in this process: the
// module the invocation names (SITHSEID_PKCS11_MODULE over the
// configuration), no card service.
func diagnosticsOptions(e Env, s *startup.Session) diag.Options {
	opts := diag.Options{Version: e.Version, Config: s.Config, PKCS11Module: s.PKCS11Module("")}
	if dir, err := logfile.DirEnv(s.Getenv); err == nil {
		opts.LogDir = dir
	}
	if s.ConfigErr != nil {
		opts.Problems = append(opts.Problems, "configuration: "+s.ConfigErr.Error())
	}
	return opts
}
