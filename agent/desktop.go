package agent

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/startup"
	"github.com/sithseid/sithseid/ui/tray"
	"github.com/sithseid/sithseid/ui/viewname"
)

// agentDesktop is the agent's side of the user's desktop: the tray icon,
// desktop notifications, and the windows it opens ("sithseid-ui VIEW",
// the ui executable, or $SITHSEID_UI_COMMAND in tests). The agent
// drives it from its own state in-process, never over the socket.
type agentDesktop struct {
	s        *startup.Session
	cat      *l10n.Catalog
	log      *slog.Logger
	agent    *Agent
	launcher *ViewLauncher
	notes    *tray.Notifier
	throttle NotifyThrottle
	tray     *tray.Tray
	stop     context.CancelFunc // ends the agent (the tray's Quit)

	// settings serialises changes of the preferences: the tray's
	// environment switch and followSettings (desktop_settings.go).
	settings sync.Mutex
	// followLang: the language came from the preferences (no --lang or
	// SITHSEID_LANG), so a change there applies at once.
	followLang bool
	// watching is closed once followSettings watches (tests).
	watching chan struct{}

	mu        sync.Mutex
	env       string
	canSwitch bool
	demoOff   bool // DEMO turned off here: the tray leaves it out
	state     localapi.State
}

// newAgentDesktop wires the desktop side; stop ends the agent.
func newAgentDesktop(ctx context.Context, s *startup.Session, cat *l10n.Catalog, env environment.Environment, stop context.CancelFunc) *agentDesktop {
	d := &agentDesktop{
		s:         s,
		cat:       cat,
		log:       s.Log,
		stop:      stop,
		env:       env.Name,
		notes:     tray.NewNotifier(ctx, s.Log),
		canSwitch: s.Config != nil && s.Config.CanSwitchEnvironment(),
		demoOff:   !s.DemoAllowed(),
	}
	d.launcher = NewViewLauncher(LauncherOptions{
		Executable: s.Getenv(EnvUICommand),
		Log:        s.Log,
		Failed:     d.windowFailed,
	})
	d.tray = tray.New(tray.Options{Catalog: cat, OnAction: d.act, Log: s.Log})
	d.followLang = cat.Lang == s.Lang("")
	// A notification's action opens the window that fixes what it tells,
	// as the tray's menu entry does (issue 17).
	d.notes.OnAction(d.act)
	return d
}

// notify is the agent's Notify: a desktop notification (rate-limited),
// and for a login request handed over by the URL handler the approval
// window. The agent raises loginRequested only for such requests, so no
// window ever opens unasked; requests it refused for coming too fast
// raise loginRefused once per flood, shown as it comes.
func (d *agentDesktop) notify(n localapi.Notification) {
	if n.Kind == localapi.NotifyLoginRequested && n.Handoff != "" {
		// One approval window at a time; the next request's opens when it
		// closes, if the request is still queued then.
		_ = QueueApprovalWindow(d.launcher, d.agent, n.Handoff)
	}
	if n.Kind == localapi.NotifyLoginRefused {
		cat := d.catalog()
		d.notes.Show(tray.Message{Summary: cat.T("notify.login_refused"), Body: cat.T("notify.login_refused_body"), Group: "login"})
		return
	}
	if !d.throttle.Allow(n, time.Now()) {
		d.log.Info("desktop notification held back (rate limit)", "kind", n.Kind)
		return
	}
	if m, ok := tray.Phrase(n, d.catalog()); ok {
		d.notes.Show(m)
	}
}

// windowFailed tells the user that a window could not open, and where the
// reason is: the launcher logged the window process's exit status and
// standard error. Without it a click on the menu shows nothing at all
// (the launcher calls it once per burst of failures).
func (d *agentDesktop) windowFailed(view string, err error) {
	d.log.Warn("a window could not open", "view", view, "err", err)
	path := logfile.LogFileName
	if dir, err := logfile.DirEnv(d.s.Getenv); err == nil {
		path = filepath.Join(dir, logfile.LogFileName)
	}
	cat := d.catalog()
	m := tray.Message{Summary: cat.T("notify.window_failed"), Body: cat.T("notify.window_failed_body", path), Group: "window"}
	d.notes.Show(m)
	alertUser(m.Summary, m.Body) // Windows: a message box (no balloon there)
}

// alertTitle is the title of the agent's message boxes.
const alertTitle = "SITHS eID"

// run shows the tray until ctx ends (the agent stops, or Quit). Without a
// tray host it logs why and only waits: the agent works the same, and
// the application menu's launcher ("sithseid ui status") opens the
// windows.
func (d *agentDesktop) run(ctx context.Context, withTray bool) {
	go d.followSettings(ctx)
	if !withTray {
		d.log.Info("no tray icon: --no-tray")
		<-ctx.Done()
		return
	}
	go func() {
		for st := range d.agent.States(ctx) {
			d.mu.Lock()
			d.state = st
			d.mu.Unlock()
			d.show()
		}
	}()
	if err := d.tray.Run(ctx); err != nil {
		d.log.Info("no tray icon; the agent runs without one", "reason", err)
		<-ctx.Done()
	}
}

func (d *agentDesktop) show() {
	d.mu.Lock()
	v := tray.View{State: d.state, Environment: d.env, CanSwitch: d.canSwitch, DemoOff: d.demoOff}
	d.mu.Unlock()
	d.tray.Show(v)
}

// statusCard is the status window's --card for a left click on the tray:
// with several cards inserted, the card the tray shows (by reader when its
// number is unknown), so the window opens on it; nothing otherwise.
func (d *agentDesktop) statusCard() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.state.Card; c != nil && d.state.Cards > 1 {
		return []string{"--card", localapi.CardKey(c.CardNumber, c.Reader)}
	}
	return nil
}

// act runs a tray click.
func (d *agentDesktop) act(a tray.Action) {
	var err error
	switch a.Kind {
	case tray.ActionStatus:
		err = d.launcher.Open(viewname.Status, d.statusCard()...)
	case tray.ActionQR:
		err = d.launcher.Open(viewname.QR, "--handoff", a.Handoff)
	case tray.ActionPINChange:
		err = d.launcher.Open(viewname.PIN)
	case tray.ActionPINUnblock:
		err = d.launcher.Open(viewname.Unblock)
	case tray.ActionCerts:
		err = d.launcher.Open(viewname.Certs)
	case tray.ActionSettings:
		err = d.launcher.Open(viewname.Settings)
	case tray.ActionAbout:
		err = d.launcher.Open(viewname.About)
	case tray.ActionEnvironment:
		d.switchEnvironment(a.Environment)
	case tray.ActionQuit:
		d.log.Info("quit from the tray")
		d.stop()
	}
	if err != nil && !errors.Is(err, ErrViewOpen) {
		d.log.Warn("tray action failed", "action", a.Kind, "err", err)
	}
}

// switchEnvironment writes the user's choice through the configuration
// (policy may refuse it) and applies it to the running agent: logins and
// QR codes that start afterwards go there, no restart needed.
func (d *agentDesktop) switchEnvironment(name string) {
	d.settings.Lock()
	defer d.settings.Unlock()
	cat := d.catalog()
	fail := func(err error) {
		d.log.Warn("switching environment", "environment", name, "err", err)
		msg, hint, _ := exitcode.Explain(cat, err)
		if hint != "" {
			msg += " " + hint
		}
		d.notes.Show(tray.Message{Summary: cat.T("notify.environment_failed"), Body: msg, Group: "environment"})
	}
	o := startup.ConfigOptions(d.s.Getenv)
	o.LenientUser = true
	cfg, err := config.Load(o)
	if err != nil {
		fail(err)
		return
	}
	if err := cfg.SetUser(config.KeyEnvironment, name); err != nil {
		fail(err)
		return
	}
	d.s.Config, d.s.Settings = cfg, cfg.Effective()
	env, err := d.s.Environment(name, "")
	if err != nil && !errors.Is(err, environment.ErrNotConfigured) {
		fail(err)
		return
	}
	// Not set up (a placeholder without policy endpoints): the agent runs
	// there all the same, as at start, and a login says what is missing.
	d.agent.SetEnvironment(env)
	d.mu.Lock()
	d.env, d.canSwitch, d.demoOff = env.Name, cfg.CanSwitchEnvironment(), !cfg.DemoAllowed()
	d.mu.Unlock()
	d.show()
	d.notes.Show(tray.Message{Summary: cat.T("notify.environment"), Body: cat.T("notify.environment_body", env.Name), Group: "environment"})
}
