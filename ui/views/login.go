package views

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// LoginView approves a login the browser handed over: who asks and what
// for come first (the defence against a caller who talks the user into
// approving someone else's login), then where the login was started (a
// warning when the identity service saw it started on another computer,
// docs/protocol.md §8.1) and the reminder to approve only a login the user
// started, then the PIN with the tries left.
// "Använd mobilen i stället" switches to the animated QR code; Avbryt
// declines, which cancels the order at the service.
type LoginView struct {
	*frame
	agent   LoginApprover
	handoff string

	rp   *widget.Label
	text *widget.Label
	who  *widget.Label
	// origin says where the login was started; originRow holds it with
	// its icon (a warning for another computer).
	origin     *widget.Label
	originIcon *widget.Icon
	originRow  *fyne.Container
	// eidRow lets the user pick which organisation's SITHS eID to log in
	// as, on a card with several (eid.go); hidden otherwise.
	eidRow   *fyne.Container
	eidPick  *choice
	eidHint  *widget.Label
	eids     []app.EIDChoice
	chooseFn func(hsaID string)
	approval app.LoginApproval
	// reminder: approve only a login you started yourself.
	reminder    *widget.Label
	reminderRow *fyne.Container
	tries       *widget.Label
	pin         *secretEntry
	loginB      *button
	mobileB     *button
	cancelB     *button
	retryB      *button
	pinRow      *fyne.Container

	cancelOp context.CancelFunc
	answer   chan promptAnswer // the PIN prompt waiting, or nil
	// declined: Avbryt (or ✕) came before the agent asked for the PIN.
	// The login keeps running, hidden, until its approval or PIN prompt
	// arrives and is answered with a decline, so the order is cancelled
	// at the service (not left pending, as closing the window would).
	declined atomic.Bool
	running  bool
	result   *app.LoginResult
	qr       *QRView
	// ops counts finished logins (tests wait on it).
	ops int
}

type promptAnswer struct {
	secret *cardreader.Secret
	err    error
}

// NewLogin returns the approval view for the handoff id.
func NewLogin(env *Env, agent LoginApprover, handoff string) *LoginView {
	v := &LoginView{frame: newFrame(env), agent: agent, handoff: handoff}
	c := v.cat
	v.rp = heading(c.T("ui.login.looking_up"))
	v.text = para("")
	v.text.Hide()
	v.who = para("")
	v.who.Hide()
	v.origin = para("")
	v.originIcon = widget.NewIcon(theme.InfoIcon())
	v.originRow = container.NewBorder(nil, nil, container.NewCenter(v.originIcon), nil, v.origin)
	v.originRow.Hide()
	v.newEIDPicker()
	v.reminder = para(c.T("login.only_yours"))
	v.reminderRow = container.NewBorder(nil, nil, container.NewCenter(widget.NewIcon(theme.InfoIcon())), nil, v.reminder)
	v.reminderRow.Hide()
	v.tries = widget.NewLabel("")
	v.pin = v.keys.newSecretEntry(c.T("ui.pin.placeholder"), cardreader.MaxPINLength)
	v.pin.onChanged = v.refresh
	v.pin.Disable()
	v.loginB = v.keys.newButton(c.T("ui.login.approve"), v.submit)
	v.loginB.Importance = widget.HighImportance
	v.mobileB = v.keys.newButton(c.T("ui.login.mobile"), v.useMobile)
	v.cancelB = v.keys.newButton(c.T("ui.cancel"), v.decline)
	v.retryB = v.keys.newButton(c.T("ui.login.retry"), v.start)
	v.retryB.Hide()
	v.keys.enter = v.submit
	v.keys.escape = v.decline
	// The tries beside the PIN field, and no line with the window's
	// title: with the card's state in the header the window still fits
	// 440 units (fit_test.go).
	v.pinRow = form(field(c.T("prompt.pin"), container.NewBorder(nil, nil, nil, v.tries, v.pin)))
	v.pinRow.Hide()
	v.show(container.NewVBox(
		v.rp,
		v.text,
		v.who,
		v.eidRow,
		v.originRow,
		v.reminderRow,
		v.pinRow,
		v.messages(),
		container.NewHBox(v.mobileB, layoutSpacer(), v.cancelB, v.retryB, v.loginB),
	))
	v.refresh()
	return v
}

func (v *LoginView) Title() string { return v.cat.T("ui.login.title") }

func (v *LoginView) Start(w fyne.Window) {
	v.attach(w)
	v.head.follow(v.frame.env.State) // the card's state, as the agent knows it
	v.addEIDShortcut(w)
	v.start()
	v.focus(v.cancelB)
}

// start runs the login at the agent: it looks the order up, shows it
// (approve), then asks for the PIN (prompt).
func (v *LoginView) start() {
	if v.running {
		return
	}
	v.running = true
	v.retryB.Hide()
	v.cancelB.Show()
	v.quiet()
	v.refresh()
	ctx, cancel := context.WithCancel(v.ctx)
	v.cancelOp = cancel
	req := app.LoginRequest{Approve: v.approve, Prompt: v.prompt}
	go func() {
		res, err := v.agent.LoginHandoff(ctx, v.handoff, req)
		cancel()
		v.later(func() { v.finished(res, err) })
	}()
}

// approve shows who asks and what for. The decision is the PIN: nothing
// is signed before the user types it below the text.
func (v *LoginView) approve(_ context.Context, a app.LoginApproval) error {
	if v.declined.Load() {
		return app.ErrCancelled
	}
	v.later(func() {
		c := v.cat
		v.rp.SetText(c.T("login.asks", a.RelyingParty))
		if a.Text != "" {
			v.text.SetText(a.Text)
			v.text.Show()
		}
		v.who.SetText(c.T("login.as", a.Holder, a.HSAID, a.CardNumber))
		v.who.Show()
		v.showEIDs(a)
		v.showOrigin(a.Origin)
		v.reminderRow.Show()
		v.root.Refresh() // the wrapped rows measure their height at their new width
	})
	return nil
}

// showOrigin says where the login was started: on this computer, or, when
// the identity service saw this computer's lookup come from another
// address than the browser that started it, a warning that someone else
// may be logging in as the user. Without the service's word it says
// nothing; the reminder below stands either way.
func (v *LoginView) showOrigin(o *oob.Origin) {
	if o == nil {
		v.originRow.Hide()
		return
	}
	c := v.cat
	// Style before text: the wrapped label's height is measured in the
	// font it is drawn in (bold wraps longer).
	if o.EndUserIPMatch {
		v.origin.Importance = widget.MediumImportance
		v.origin.TextStyle.Bold = false
		v.originIcon.SetResource(theme.InfoIcon())
		v.origin.SetText(c.T("login.origin_same", o.EndUserIP))
	} else {
		v.origin.Importance = widget.WarningImportance
		v.origin.TextStyle.Bold = true
		v.originIcon.SetResource(theme.NewColoredResource(theme.WarningIcon(), theme.ColorNameWarning))
		v.origin.SetText(c.T("login.origin_other", o.EndUserIP))
	}
	v.originRow.Show()
}

// prompt waits for the PIN typed in the window (or Avbryt).
func (v *LoginView) prompt(ctx context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
	if req.Kind != app.PromptPIN || v.declined.Load() {
		return nil, app.ErrCancelled
	}
	ch := make(chan promptAnswer, 1)
	v.later(func() {
		if v.declined.Load() {
			ch <- promptAnswer{err: app.ErrCancelled}
			return
		}
		c := v.cat
		v.answer = ch
		v.tries.SetText(triesText(c, req.Retries, false))
		v.tries.Importance = importanceOfTries(req.Retries, false)
		v.tries.Refresh()
		v.pinRow.Show()
		v.pin.Enable()
		v.refresh()
		v.focus(v.pin)
	})
	select {
	case a := <-ch:
		return a.secret, a.err
	case <-ctx.Done():
		// The window closed or went to the phone: not a decline, so the
		// order stays pending.
		return nil, localapi.ErrAbandoned
	}
}

func (v *LoginView) refresh() {
	if v.answer != nil && cardreader.CheckPINFormat(v.pin.peek()) == nil {
		v.loginB.Enable()
	} else {
		v.loginB.Disable()
	}
	if v.result != nil {
		v.loginB.Enable()
	}
}

// submit hands the typed PIN to the waiting prompt.
func (v *LoginView) submit() {
	if v.result != nil {
		v.closeWindow()
		return
	}
	if v.loginB.Disabled() || v.answer == nil {
		return
	}
	s := v.pin.Take()
	v.pin.Disable()
	v.answer <- promptAnswer{secret: s}
	v.answer = nil
	v.say(widget.MediumImportance, v.cat.T("ui.login.signing"), "")
	v.refresh()
}

// declineWait bounds how long a window declined before the PIN prompt
// stays (hidden) waiting for the agent to ask, so that it can say no.
const declineWait = 15 * time.Second

// decline cancels the order at the service, at any point: at the PIN
// prompt it answers the prompt with a decline; before the agent asks, the
// window hides and the login goes on until the approval or the prompt
// arrives, which it declines (the window closes when the login ends).
func (v *LoginView) decline() {
	if v.qr != nil {
		v.qr.Stop()
		v.closeWindow()
		return
	}
	if v.answer != nil {
		v.answer <- promptAnswer{err: app.ErrCancelled}
		v.answer = nil
		v.pin.Wipe()
		return // finished closes the window
	}
	// After a wrong PIN the order is still pending: run the login again
	// only to decline it.
	again := !v.running && v.result == nil && v.retryB.Visible()
	if (!v.running && !again) || v.declined.Swap(true) {
		if !v.running {
			v.closeWindow()
		}
		return
	}
	v.pin.Wipe()
	if v.win != nil {
		v.win.Hide()
	}
	if again {
		v.start()
	}
	time.AfterFunc(declineWait, func() { v.later(v.closeWindow) })
}

// CloseRequested is the window's ✕: the same as Avbryt, so closing the
// window does not leave the order pending (ui sets it as the window's
// close intercept).
func (v *LoginView) CloseRequested() { v.decline() }

// useMobile abandons the login here (the order stays pending) and shows
// the QR code for the phone in the same window.
func (v *LoginView) useMobile() {
	if v.answer != nil {
		v.answer <- promptAnswer{err: localapi.ErrAbandoned}
	}
	if v.cancelOp != nil {
		v.cancelOp()
	}
	v.answer = nil
	v.pin.Wipe()
	v.qr = newQR(v.env, v.agent, v.handoff, v.frame)
	v.keys.enter = nil
	v.keys.escape = v.closeWindow
	v.qr.Start(v.win)
}

func (v *LoginView) finished(res *app.LoginResult, err error) {
	defer func() { v.ops++ }()
	v.running = false
	v.answer = nil
	v.pin.Disable()
	if v.qr != nil {
		return // the QR code took over
	}
	if v.declined.Load() {
		v.closeWindow() // hidden since Avbryt; the order is cancelled
		return
	}
	c := v.cat
	if err == nil {
		v.result = res
		v.pinRow.Hide()
		v.mobileB.Hide()
		v.cancelB.Hide()
		v.loginB.SetText(c.T("ui.close"))
		v.say(widget.SuccessImportance, c.T("login.done", res.RelyingParty, res.HSAID), c.T("ui.login.back_to_browser"))
		v.refresh()
		v.focus(v.loginB)
		v.autoClose()
		return
	}
	if errors.Is(err, app.ErrCancelled) {
		v.closeWindow()
		return
	}
	v.fail(err)
	var wrong *cardreader.WrongPINError
	if errors.As(err, &wrong) && wrong.Retries > 0 {
		// The order is still pending: another try is the user's choice.
		v.tries.SetText(triesText(c, wrong.Retries, false))
		v.tries.Importance = importanceOfTries(wrong.Retries, false)
		v.tries.Refresh()
		v.retryB.Show()
		v.focus(v.retryB)
	} else {
		v.mobileB.Hide()
		v.cancelB.SetText(c.T("ui.close"))
		v.focus(v.cancelB)
	}
	v.refresh()
}

func (v *LoginView) autoClose() {
	if d := v.env.AutoClose; d > 0 {
		time.AfterFunc(d, func() { v.later(v.closeWindow) })
	}
}
