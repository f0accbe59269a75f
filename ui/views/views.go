// Package views holds the contents of the windows of "sithseid ui VIEW":
// status, PIN change, unblock, certificates, login approval, QR code,
// settings and about. It renders what the agent says and forwards clicks
// to it; every card operation runs in the agent, reached through the
// narrow interfaces below (an *localapi.Client satisfies them all, and
// tests pass fakes or a real agent).
//
// # No driver here
//
// This package never imports fyne.io/fyne/v2/app (the GL driver): its
// views are built on any fyne.Window, so tests run them with
// fyne.io/fyne/v2/test, headless and without cgo. Package ui opens the
// real window and owns the process's lifetime.
//
// # Keyboard
//
// Every view is operable by keyboard alone: the first field has the focus
// when the view opens, Tab moves in reading order, Enter runs the view's
// default action (or the focused button), Escape cancels the operation
// running or closes the window. Fyne gives a focused widget every key, so
// the focusable widgets here are thin wrappers (entry, button, choice,
// check, list) and the secret entry, which pass Escape and Enter to the
// view.
//
// # Secrets
//
// A PIN or PUK is typed into a secretEntry, never into a widget.Entry
// (Fyne keeps an Entry's text in Go strings, copied on every keystroke,
// which cannot be wiped). The secret entry keeps the digits in one buffer
// it owns and draws bullets; on submit its bytes move into a
// cardreader.Secret, wiped when the operation ends, and its buffer is
// wiped on close and cancel. Nothing here logs a secret.
package views

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/usertext"
	"github.com/sithseid/sithseid/localapi"
)

// StatusSource is what the status view and the card pickers read.
type StatusSource interface {
	Status(context.Context, app.StatusOptions) (*app.Status, error)
	Subscribe(context.Context) (<-chan localapi.Event, error)
}

// PINChanger changes a card's identification or signature PIN.
type PINChanger interface {
	StatusSource
	ChangePIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
}

// PINUnblocker unblocks a card's identification or signature PIN with its
// PUK.
type PINUnblocker interface {
	StatusSource
	UnblockPIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
}

// CertManager lists, exports and removes certificates.
type CertManager interface {
	StatusSource
	Export(context.Context, app.Selector, string, app.ExportFormat) ([]app.ExportedFile, error)
	RemoveCertificate(context.Context, app.Selector, string, app.RemoveOptions, app.Prompt) error
	RemoveExpired(context.Context, app.Selector, app.RemoveOptions, app.Prompt) ([]string, error)
}

// LoginApprover runs a login the URL handler queued, and shows its QR code.
type LoginApprover interface {
	QRSource
	LoginHandoff(context.Context, string, app.LoginRequest) (*app.LoginResult, error)
}

// QRSource fetches the current QR code of a queued login.
type QRSource interface {
	QRHandoff(context.Context, string, int) (*app.QRHandover, error)
}

// StateSource is the agent's published state (its subscription), which
// the header of a window that reads no card shows.
type StateSource interface {
	Subscribe(context.Context) (<-chan localapi.Event, error)
}

// NoAgent is a StateSource for a window that found no agent: its header
// says the service does not answer, with err in the log.
func NoAgent(err error) StateSource { return noAgent{err} }

type noAgent struct{ err error }

func (n noAgent) Subscribe(context.Context) (<-chan localapi.Event, error) { return nil, n.err }

// Agent is every operation the views use: what *localapi.Client offers.
type Agent interface {
	PINChanger
	PINUnblocker
	CertManager
	LoginApprover
}

var _ Agent = (*localapi.Client)(nil)

// Env is what every view gets from the process.
type Env struct {
	// Cat speaks the user's language.
	Cat *l10n.Catalog
	// Log receives what happens (never a secret); nil discards.
	Log *slog.Logger
	// Card picks the card by card number when several are inserted; ""
	// means the agent's choice (the only card, else the first).
	Card string
	// Close closes the window; nil means window.Close.
	Close func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Fit shrinks the window to its contents after they changed; nil
	// does nothing (tests).
	Fit func()
	// AutoClose is how long a view that finished its job (a completed
	// login, an expired QR code) stays open; 0 keeps it open.
	AutoClose time.Duration
	// Helpdesk is policy's helpdesk (issue 17): named by the blocked-PIN
	// message, by the status window when the PIN is blocked without a
	// PUK, and by the About window; zero when policy names none.
	Helpdesk config.Helpdesk
	// Environment is the app's environment (PROD, TEST, QA, DEMO): the
	// header shows a banner when it is not PROD and warns when the card's
	// issuer is of another environment; "" means PROD.
	Environment string
	// Logo is the organisation's logo from policy (logoFile), shown in the
	// header; nil shows none.
	Logo fyne.Resource
	// State is the agent's published state, for the header of the
	// windows that read no card (login, QR, settings, about); nil shows
	// no state there.
	State StateSource
	// Do runs fn on the UI goroutine; nil means fyne.Do. Tests queue fn
	// for the test goroutine: Fyne's test driver runs fyne.Do at once on
	// the calling goroutine, where it would race with the test's own
	// widget calls.
	Do func(fn func())
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// View is the contents of one window.
type View interface {
	// Title is the window's title.
	Title() string
	// Content is what the window shows (it may change as the view goes).
	Content() fyne.CanvasObject
	// Start begins the view's work (reading the card, starting a login)
	// once it is on w, and focuses its first field.
	Start(w fyne.Window)
	// Stop cancels what runs; the window is closing.
	Stop()
}

// frame is what every view shares: the window, a context cancelled when
// it closes, the keys, and a line for messages.
type frame struct {
	env    *Env
	cat    *l10n.Catalog
	win    fyne.Window
	ctx    context.Context
	cancel context.CancelFunc
	keys   keys
	// notice shows the outcome of the last action (an error with its
	// hint, or a success).
	notice *widget.Label
	hint   *widget.Label
	// fromLoad: the message line says what reading the card found (not
	// the outcome of the user's last action), so the next reading may
	// replace it.
	fromLoad bool
	// root holds the view's content; views swap what it shows. padded is
	// root with the theme's margin, the window's content.
	root, padded *fyne.Container
	// head is the header above root: environment banner and card state.
	head *header
	// relanguaged, when set, runs after Relanguage: a view says again
	// what it derives from its state (a check of what is typed).
	relanguaged func()
}

func newFrame(env *Env) *frame {
	if env.Cat == nil {
		env.Cat = l10n.MustLoad(l10n.Swedish)
	}
	f := &frame{env: env, cat: env.Cat}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.notice = widget.NewLabel("")
	f.notice.Wrapping = fyne.TextWrapWord
	f.notice.Hide()
	f.hint = widget.NewLabel("")
	f.hint.Wrapping = fyne.TextWrapWord
	f.hint.Hide()
	f.root = container.NewStack()
	f.head = newHeader(f)
	f.padded = container.NewPadded(container.NewBorder(f.head.box, nil, nil, nil, f.root))
	f.keys.escape = f.closeWindow
	return f
}

func (f *frame) Content() fyne.CanvasObject { return f.padded }

// fit asks the window to shrink to its contents.
func (f *frame) fit() {
	if f.env.Fit != nil {
		f.env.Fit()
	}
}

// Stop cancels what runs and wipes the secret entries.
func (f *frame) Stop() {
	f.cancel()
	f.keys.wipeSecrets()
}

// attach remembers the window.
func (f *frame) attach(w fyne.Window) { f.win = w }

// show replaces the view's content.
func (f *frame) show(o fyne.CanvasObject) {
	f.root.Objects = []fyne.CanvasObject{o}
	f.root.Refresh()
	f.fit()
}

// focus gives o the keyboard focus.
func (f *frame) focus(o fyne.Focusable) {
	if f.win != nil && o != nil {
		f.win.Canvas().Focus(o)
	}
}

func (f *frame) closeWindow() {
	f.cancel()
	f.keys.wipeSecrets()
	switch {
	case f.env.Close != nil:
		f.env.Close()
	case f.win != nil:
		f.win.Close()
	}
}

// fail shows err as a calm sentence and its hint. Unknown errors show a
// generic sentence; their chain goes to the log only.
func (f *frame) fail(err error) {
	msg, hint := explain(f.cat, err)
	if _, _, class := usertext.Explain(f.cat, err); class == usertext.PINBlocked || class == usertext.PUKBlocked {
		hint = f.withHelpdesk(hint)
	}
	f.env.log().Info("operation failed", "err", err)
	f.say(widget.DangerImportance, msg, hint)
}

// withHelpdesk appends policy's helpdesk (whom to call) to the hint of a
// blocked PIN or PUK, or of a card without a PUK.
func (f *frame) withHelpdesk(hint string) string {
	return usertext.WithHelpdesk(f.cat, hint, f.env.Helpdesk)
}

// explain is usertext.Explain for windows: an error the product does not
// know becomes "Something went wrong" and a hint, never its raw text.
func explain(c *l10n.Catalog, err error) (msg, hint string) {
	msg, hint, class := usertext.Explain(c, err)
	if class == usertext.Failure && msg == c.T("err.generic", err.Error()) {
		return c.T("ui.err.generic"), c.T("ui.hint.generic")
	}
	return msg, hint
}

// loadSay shows what reading the card found, unless the message line
// holds the outcome of the user's last action: a reading right after a
// failed attempt must not hide why it failed.
func (f *frame) loadSay(imp widget.Importance, msg, hint string) {
	if !f.fromLoad && f.notice.Visible() {
		return
	}
	f.say(imp, msg, hint)
	f.fromLoad = true
}

// loadFail is fail for errors of reading the card.
func (f *frame) loadFail(err error) {
	f.fail(err)
	f.fromLoad = true
}

// loadQuiet clears a message that came from reading the card.
func (f *frame) loadQuiet() {
	if f.fromLoad {
		f.quiet()
	}
}

// say shows a message line (and a hint under it, when there is one).
func (f *frame) say(imp widget.Importance, msg, hint string) {
	f.fromLoad = false
	f.notice.Importance = imp
	f.notice.SetText(msg)
	f.notice.Show()
	f.hint.SetText(hint)
	if hint == "" {
		f.hint.Hide()
	} else {
		f.hint.Show()
	}
	f.fit()
}

// quiet hides the message line.
func (f *frame) quiet() {
	f.fromLoad = false
	f.notice.SetText("")
	f.notice.Hide()
	f.hint.SetText("")
	f.hint.Hide()
}

// messages is the message line and hint, for a view's layout.
func (f *frame) messages() fyne.CanvasObject {
	return container.NewVBox(f.notice, f.hint)
}

// later runs fn on the UI goroutine; views call it from their operations'
// goroutines. Nothing runs once the window is closing.
func (f *frame) later(fn func()) {
	do := fyne.Do
	if f.env.Do != nil {
		do = f.env.Do
	}
	do(func() {
		if f.ctx.Err() != nil {
			return
		}
		fn()
	})
}

// heading is a view's bold first line.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.Wrapping = fyne.TextWrapWord
	return l
}

// para is a wrapped paragraph.
func para(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// field is one "name: value" row of a form.
func field(name string, value fyne.CanvasObject) []fyne.CanvasObject {
	return []fyne.CanvasObject{widget.NewLabelWithStyle(name, fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}), value}
}

// form lays rows of fields out in two columns.
func form(rows ...[]fyne.CanvasObject) *fyne.Container {
	var objs []fyne.CanvasObject
	for _, r := range rows {
		objs = append(objs, r...)
	}
	return container.New(layout.NewFormLayout(), objs...)
}

// triesText says how many tries are left before an attempt.
func triesText(c *l10n.Catalog, retries int, blocked bool) string {
	switch {
	case blocked || retries == 0:
		return c.T("status.blocked")
	case retries < 0:
		return c.T("status.tries_unknown")
	case retries == 1:
		return c.T("ui.tries_last")
	}
	return c.T("status.tries", retries)
}

// date formats a day the way the user's language writes it.
func date(c *l10n.Catalog, t time.Time) string {
	if c.Lang == l10n.English {
		return t.Local().Format("2 January 2006")
	}
	return t.Local().Format("2006-01-02")
}

// cardLine is "Card 1234, Holder (HSA-ID)".
func cardLine(c *l10n.Catalog, cs app.CardStatus) string {
	return c.T("prompt.card", cs.CardNumber, cs.Holder.Name, cs.Holder.HSAID)
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func newFormLayout() fyne.Layout      { return layout.NewFormLayout() }
func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }
