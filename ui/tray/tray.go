package tray

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"fyne.io/systray"

	"github.com/sithseid/sithseid/internal/l10n"
)

// Options configures a Tray; the zero value works (a Swedish menu whose
// clicks go nowhere).
type Options struct {
	// Catalog is the language of the menu; nil means Swedish.
	Catalog *l10n.Catalog
	// OnAction receives each click, one at a time, on one goroutine of the
	// tray's. nil drops them.
	OnAction func(Action)
	// Log says why there is no tray, if so; nil discards.
	Log *slog.Logger
}

// Tray is the notification-area icon and menu. systray allows one per
// process: make one Tray and Run it once.
type Tray struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	latest View
	cat    *l10n.Catalog // the menu's language (SetCatalog)
	wake   chan struct{}

	actions chan Action
}

// New returns a Tray; nothing shows until Run.
func New(opts Options) *Tray {
	if opts.Catalog == nil {
		opts.Catalog = l10n.MustLoad(l10n.Swedish)
	}
	t := &Tray{opts: opts, log: opts.Log, cat: opts.Catalog, wake: make(chan struct{}, 1), actions: make(chan Action, 16)}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t
}

// Show makes v what the tray shows. It never blocks: a tray that is busy
// applying an earlier view applies only the newest next.
func (t *Tray) Show(v View) {
	t.mu.Lock()
	t.latest = v
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *Tray) view() View {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// SetCatalog changes the menu's language at once (the language changed
// in Inställningar); like Show, it never blocks.
func (t *Tray) SetCatalog(cat *l10n.Catalog) {
	t.mu.Lock()
	t.cat = cat
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *Tray) catalog() *l10n.Catalog {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cat
}

// Run shows the tray until ctx is done, then removes it. It returns at
// once with an error wrapping ErrNoHost when this session has no tray
// host at all (Linux without a session bus); when the host may still
// come (no StatusNotifierWatcher yet), it waits for it without polling.
// On macOS Run must be called from the main goroutine (systray runs the
// Cocoa loop on the main thread). On Windows the tray's window belongs to
// the thread that creates it and its messages arrive there, so Run keeps
// its goroutine on one thread until it returns.
func (t *Tray) Run(ctx context.Context) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := waitForHost(ctx, t.log); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	m := Build(t.view(), t.catalog())
	// The icon and tooltip are set in ready: before systray.Run the
	// Windows tray has no window yet and each call logs "tray not ready
	// yet". On Linux prepare sets them before Run as well. What systray
	// still logs goes to the tray's logger.
	prepare(trayIconData(m.Icon), m.Tooltip)
	defer routeLibraryLog(t.log)()
	if openStatusOnTap {
		systray.SetOnTapped(func() { t.act(Action{Kind: ActionStatus}) })
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		systray.Quit()
	}()
	go t.dispatch(ctx)
	defer func() {
		// systray panics when its bus went away under it; the agent must
		// outlive its tray.
		if r := recover(); r != nil {
			err = fmt.Errorf("tray: systray stopped: %v", r)
		}
	}()
	systray.Run(func() { t.ready(ctx, m) }, nil)
	return nil
}

// act queues a click for OnAction; a click while sixteen are queued is
// dropped (nobody clicks that fast).
func (t *Tray) act(a Action) {
	select {
	case t.actions <- a:
	default:
	}
}

func (t *Tray) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-t.actions:
			t.log.Info("tray click", "action", a.Kind, "environment", a.Environment)
			if t.opts.OnAction != nil {
				t.opts.OnAction(a)
			}
		}
	}
}

// entries are the systray items behind a Menu's fields.
type entries struct {
	holder, hsaid, qr, pin, unblock, certs, env, settings, about, quit *systray.MenuItem
	envs                                                               []*systray.MenuItem
	eids                                                               [MaxEIDs]*systray.MenuItem
}

// ready builds the menu (systray calls it once, on its own goroutine)
// and then applies every new view.
func (t *Tray) ready(ctx context.Context, m Menu) {
	systray.SetIcon(trayIconData(m.Icon))
	systray.SetTooltip(m.Tooltip)
	var e entries
	add := func(it Item) *systray.MenuItem {
		mi := systray.AddMenuItem(it.Label, "")
		apply(mi, Item{Label: it.Label, Enabled: true, Visible: true}, it)
		return mi
	}
	e.holder = add(m.Holder)
	e.hsaid = add(m.HSAID)
	for i := range e.eids {
		e.eids[i] = add(m.EIDs[i])
	}
	systray.AddSeparator()
	e.qr = add(m.QR)
	e.pin = add(m.PINChange)
	e.unblock = add(m.PINUnblock)
	e.certs = add(m.Certs)
	systray.AddSeparator()
	e.env = add(m.Environment)
	for i, name := range Environments {
		it := m.Environments[i]
		mi := e.env.AddSubMenuItemCheckbox(it.Label, "", it.Checked)
		apply(mi, Item{Label: it.Label, Enabled: true, Visible: true, Checked: it.Checked}, it)
		e.envs = append(e.envs, mi)
		t.forward(ctx, mi, Action{Kind: ActionEnvironment, Environment: name})
	}
	e.settings = add(m.Settings)
	e.about = add(m.About)
	systray.AddSeparator()
	e.quit = add(m.Quit)

	var mu sync.Mutex // guards shown: the QR click reads its handoff
	shown := m
	t.forward(ctx, e.pin, Action{Kind: ActionPINChange})
	t.forward(ctx, e.unblock, Action{Kind: ActionPINUnblock})
	t.forward(ctx, e.certs, Action{Kind: ActionCerts})
	t.forward(ctx, e.settings, Action{Kind: ActionSettings})
	t.forward(ctx, e.about, Action{Kind: ActionAbout})
	t.forward(ctx, e.quit, Action{Kind: ActionQuit})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-e.qr.ClickedCh:
				if !ok {
					return
				}
				mu.Lock()
				h := shown.Handoff
				mu.Unlock()
				if h != "" {
					t.act(Action{Kind: ActionQR, Handoff: h})
				}
			}
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.wake:
			}
			next := Build(t.view(), t.catalog())
			mu.Lock()
			prev := shown
			shown = next
			mu.Unlock()
			e.update(prev, next)
		}
	}()
}

// forward sends a's kind for every click on mi. systray drops a click
// nobody is waiting for, so each item has a goroutine waiting (blocked,
// at no cost).
func (t *Tray) forward(ctx context.Context, mi *systray.MenuItem, a Action) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-mi.ClickedCh:
				if !ok {
					return
				}
				t.act(a)
			}
		}
	}()
}

func (e *entries) update(prev, next Menu) {
	if next.Icon != prev.Icon {
		systray.SetIcon(trayIconData(next.Icon))
	}
	if next.Tooltip != prev.Tooltip {
		systray.SetTooltip(next.Tooltip)
	}
	apply(e.holder, prev.Holder, next.Holder)
	apply(e.hsaid, prev.HSAID, next.HSAID)
	for i, mi := range e.eids {
		apply(mi, prev.EIDs[i], next.EIDs[i])
	}
	apply(e.qr, prev.QR, next.QR)
	apply(e.pin, prev.PINChange, next.PINChange)
	apply(e.unblock, prev.PINUnblock, next.PINUnblock)
	apply(e.certs, prev.Certs, next.Certs)
	apply(e.env, prev.Environment, next.Environment)
	for i, mi := range e.envs {
		apply(mi, prev.Environments[i], next.Environments[i])
	}
	apply(e.settings, prev.Settings, next.Settings)
	apply(e.about, prev.About, next.About)
	apply(e.quit, prev.Quit, next.Quit)
}

// apply changes what differs between two looks of one item: each change
// is a D-Bus signal (or a Win32 call), so nothing is set twice.
func apply(mi *systray.MenuItem, prev, next Item) {
	if next.Label != prev.Label {
		mi.SetTitle(next.Label)
	}
	if next.Enabled != prev.Enabled {
		if next.Enabled {
			mi.Enable()
		} else {
			mi.Disable()
		}
	}
	if next.Checked != prev.Checked {
		if next.Checked {
			mi.Check()
		} else {
			mi.Uncheck()
		}
	}
	if next.Visible != prev.Visible {
		if next.Visible {
			mi.Show()
		} else {
			mi.Hide()
		}
	}
}
