package views

import (
	"bytes"
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/usertext"
)

// PINView is "Byt PIN-kod" (the current PIN, then the new one twice) or
// "Lås upp med PUK-kod" (the PUK, then the new PIN twice). The new PIN is
// checked against the card's PIN policy as it is typed; the tries left
// are shown before the attempt; a failed attempt is never retried.
//
// A card with a signature PIN ("underskriftskod") besides the
// identification PIN ("legitimeringskod") gets a choice of the two; the
// tries and states shown are the chosen PIN's. Cards with one PIN never
// see the choice.
type PINView struct {
	*frame
	unblock bool
	change  PINChanger
	unblk   PINUnblocker
	cards   *cards

	card     *widget.Label // which card
	which    *choice       // identification or signature PIN (two-PIN cards only)
	whichRow []fyne.CanvasObject
	pin      cardreader.PINRef // the chosen PIN
	last     *app.CardStatus   // the active card as last shown
	tries    *widget.Label     // tries left of the PIN (change) or PUK (unblock)
	first    *secretEntry      // current PIN, or PUK
	newPIN   *secretEntry
	again    *secretEntry
	check    *widget.Label // policy feedback while typing
	submit   *button
	cancel   *button
	form     *fyne.Container
	running  bool
	done     bool
	blocked  bool // the PIN (change) or PUK (unblock) is blocked, or no PUK
	birth    time.Time
	// ops counts finished operations (tests wait on it).
	ops int
}

// NewPINChange returns the "Byt PIN-kod" view.
func NewPINChange(env *Env, agent PINChanger) *PINView {
	v := &PINView{frame: newFrame(env), change: agent}
	v.build(agent)
	return v
}

// NewUnblock returns the "Lås upp med PUK-kod" view.
func NewUnblock(env *Env, agent PINUnblocker) *PINView {
	v := &PINView{frame: newFrame(env), unblock: true, unblk: agent}
	v.build(agent)
	return v
}

func (v *PINView) Title() string {
	if v.unblock {
		return v.cat.T("ui.unblock.title")
	}
	return v.cat.T("ui.pin.title")
}

func (v *PINView) build(src StatusSource) {
	c := v.cat
	v.cards = newCards(v.frame, src, v.cardChanged)
	v.card = para("")
	v.pin = cardreader.PINIdentification
	v.which = v.keys.newChoice([]string{c.T("ui.pin.identification"), c.T("ui.pin.signature")}, nil)
	v.which.SetSelectedIndex(0)
	v.which.OnChanged = func(string) { v.pinChosen() }
	v.whichRow = field(c.T("ui.pin.which"), v.which)
	for _, o := range v.whichRow {
		o.Hide()
	}
	v.tries = widget.NewLabel("")
	firstLabel := c.T("ui.pin.current")
	if v.unblock {
		v.first = v.keys.newSecretEntry(c.T("ui.puk.placeholder"), cardreader.PUKLength)
		firstLabel = c.T("prompt.puk")
	} else {
		v.first = v.keys.newSecretEntry(c.T("ui.pin.placeholder"), cardreader.MaxPINLength)
	}
	v.newPIN = v.keys.newSecretEntry(c.T("ui.pin.placeholder"), cardreader.MaxPINLength)
	v.again = v.keys.newSecretEntry(c.T("ui.pin.placeholder"), cardreader.MaxPINLength)
	for _, e := range []*secretEntry{v.first, v.newPIN, v.again} {
		e.onChanged = v.validate
	}
	v.check = para("")
	v.submit = v.keys.newButton(v.Title(), v.run)
	v.submit.Importance = widget.HighImportance
	v.submit.Disable()
	v.cancel = v.keys.newButton(c.T("ui.cancel"), v.closeWindow)
	v.keys.enter = v.run
	v.relanguaged = v.validate // the line under the form, in the new language
	// Dense enough for a 1366×768 screen at 150 % (at most 440 units,
	// look_test.go): the window's title and its primary button name the
	// job, so there is no heading; the tries stand beside the field they
	// are about; the rules (and where the PUK is) are the line under the
	// form, which turns into what is wrong with the new PIN while typing.
	v.form = form(
		v.cards.row(),
		v.whichRow,
		field(firstLabel, container.NewBorder(nil, nil, nil, v.tries, v.first)),
		field(c.T("ui.pin.new"), v.newPIN),
		field(c.T("prompt.new_pin_again"), v.again))
	v.show(container.NewVBox(
		v.card,
		v.form,
		v.check,
		v.messages(),
		container.NewHBox(layoutSpacer(), v.cancel, v.submit),
	))
}

func (v *PINView) Start(w fyne.Window) {
	v.attach(w)
	v.cards.load()
	v.cards.watch()
	v.focus(v.first)
}

// pinChosen follows the choice of PIN.
func (v *PINView) pinChosen() {
	ref := cardreader.PINIdentification
	if v.which.SelectedIndex() == 1 {
		ref = cardreader.PINSignature
	}
	if ref == v.pin {
		return
	}
	v.pin = ref
	if v.last != nil {
		v.cardChanged(v.last, nil)
	}
}

// showChoice shows the choice of PIN for a card with a signature PIN, and
// hides it (back on the identification PIN) for any other.
func (v *PINView) showChoice(cs *app.CardStatus) {
	two := cs != nil && cs.SignaturePIN != nil
	for _, o := range v.whichRow {
		if two {
			o.Show()
		} else {
			o.Hide()
		}
	}
	if !two && v.pin != cardreader.PINIdentification {
		v.pin = cardreader.PINIdentification
		v.which.SetSelectedIndex(0)
	}
	v.form.Refresh()
}

// cardChanged shows the active card and the chosen PIN's tries left.
func (v *PINView) cardChanged(cs *app.CardStatus, err error) {
	c := v.cat
	v.blocked = true
	v.last = cs
	v.showChoice(cs)
	if err != nil {
		v.card.SetText("")
		v.tries.SetText("")
		v.loadFail(err)
		v.validate()
		return
	}
	sign := v.pin == cardreader.PINSignature
	pin := cs.PIN
	blockedMsg, blockedHint, notBlocked := c.T("err.pin_blocked"), v.withHelpdesk(c.T("ui.hint.pin_blocked")), c.T("ui.unblock.not_blocked")
	if sign {
		pin = *cs.SignaturePIN
		blockedMsg, blockedHint, notBlocked = c.T("ui.sign_pin.blocked"), c.T("ui.hint.sign_pin_blocked"), c.T("ui.sign_unblock.not_blocked")
	}
	v.loadQuiet()
	v.card.SetText(cardLine(c, *cs))
	v.birth = time.Time{}
	if pn := cs.Holder.PersonalNumber; len(pn) >= 8 {
		v.birth, _ = cardreader.PersonalNumber(pn[:8]).BirthDate()
	}
	switch {
	case v.unblock && cs.PUK == nil:
		v.tries.SetText(c.T("ui.no_puk_short"))
		v.loadSay(widget.WarningImportance, c.T("err.no_puk"), v.withHelpdesk(c.T("hint.no_puk")))
	case v.unblock && cs.PUK.Blocked:
		v.tries.SetText(c.T("status.blocked"))
		v.loadSay(widget.DangerImportance, c.T("err.puk_blocked"), v.withHelpdesk(c.T("hint.puk_blocked")))
	case v.unblock:
		v.blocked = false
		v.tries.SetText(triesText(c, cs.PUK.Retries, false))
		v.tries.Importance = importanceOfTries(cs.PUK.Retries, false)
		switch {
		case v.done || v.running:
		case pin.Blocked && sign:
			v.loadSay(widget.WarningImportance, blockedMsg, "")
		case pin.Blocked:
			// The header says it: "Your PIN is locked. Unlock it with
			// your PUK."
		default:
			v.loadSay(widget.MediumImportance, notBlocked, "")
		}
	case pin.Blocked:
		v.tries.SetText(c.T("status.blocked"))
		v.tries.Importance = widget.DangerImportance
		v.loadSay(widget.DangerImportance, blockedMsg, blockedHint)
	default:
		v.blocked = false
		v.tries.SetText(triesText(c, pin.Retries, false))
		v.tries.Importance = importanceOfTries(pin.Retries, false)
	}
	v.tries.Refresh()
	v.validate()
}

// validate checks what is typed and says what is wrong with the new PIN
// while it is typed; the button works only when everything is right.
func (v *PINView) validate() {
	ok, msg, imp := v.problems()
	v.check.Importance = imp
	v.check.SetText(msg)
	if ok && !v.running && !v.blocked && !v.done && v.cards.active() != nil {
		v.submit.Enable()
	} else if !v.done {
		v.submit.Disable()
	}
}

// problems says whether the form is complete and what to tell about it.
// It reads the entries' bytes in place (no copy). A key an entry refused
// (not a digit, one too many) is told as if it had been typed.
func (v *PINView) problems() (ok bool, msg string, imp widget.Importance) {
	c := v.cat
	first, newPIN, again := v.first.peek(), v.newPIN.peek(), v.again.peek()
	if !newPIN.Empty() || v.newPIN.Rejected() != rejectedNone {
		var err error
		switch v.newPIN.Rejected() {
		case rejectedNotDigit:
			err = &cardreader.PINPolicyError{Reason: cardreader.PINNotDigits}
		case rejectedLong:
			err = &cardreader.PINPolicyError{Reason: cardreader.PINTooLong}
		default:
			err = cardreader.CheckPINPolicy(newPIN, v.birth)
		}
		if err != nil {
			var pe *cardreader.PINPolicyError
			if errors.As(err, &pe) {
				if pe.Reason == cardreader.PINTooShort {
					return false, c.T("ui.pin.keep_typing"), widget.MediumImportance
				}
				return false, c.T("err.pin_policy", c.T(usertext.PolicyKey(pe.Reason))), widget.DangerImportance
			}
			return false, "", widget.MediumImportance
		}
		if !v.unblock && newPIN.Equal(first) {
			return false, c.T("err.same_pin"), widget.DangerImportance
		}
		if v.again.Rejected() != rejectedNone {
			return false, c.T("ui.pin.mismatch"), widget.DangerImportance
		}
		if !again.Empty() && !again.Equal(newPIN) {
			if again.Len() < newPIN.Len() && bytes.HasPrefix(newPIN.Bytes(), again.Bytes()) {
				return false, c.T("ui.pin.policy_ok"), widget.SuccessImportance
			}
			return false, c.T("ui.pin.mismatch"), widget.DangerImportance
		}
	}
	firstRejected := v.first.Rejected() != rejectedNone
	firstOK := false
	if v.unblock {
		firstOK = cardreader.CheckPUKFormat(first) == nil && !firstRejected
		if firstRejected {
			return false, c.T("err.puk_format"), widget.DangerImportance
		}
	} else {
		firstOK = cardreader.CheckPINFormat(first) == nil && !firstRejected
		if firstRejected {
			return false, c.T("ui.pin.current_format"), widget.DangerImportance
		}
	}
	switch {
	case newPIN.Empty() && v.unblock:
		return false, c.T("ui.unblock.rules"), widget.MediumImportance
	case newPIN.Empty():
		return false, c.T("ui.pin.rules"), widget.MediumImportance
	case !again.Equal(newPIN):
		return false, c.T("ui.pin.policy_ok"), widget.SuccessImportance
	case !firstOK:
		return false, c.T("ui.pin.policy_ok"), widget.SuccessImportance
	}
	return true, c.T("ui.pin.ready"), widget.SuccessImportance
}

// run changes or unblocks the PIN: the agent asks for the secrets through
// the prompt, which answers from the entries. One attempt per press.
func (v *PINView) run() {
	if v.done {
		v.closeWindow()
		return
	}
	if ok, _, _ := v.problems(); !ok || v.running || v.blocked || v.cards.active() == nil {
		return
	}
	first := v.first.Take()
	newPIN := v.newPIN.Take()
	v.again.Wipe()
	v.running = true
	v.setEditable(false)
	v.say(widget.MediumImportance, v.cat.T("ui.working"), "")
	v.validate()
	sel := v.cards.selector()
	ref := v.pin
	// The entries' own Escape closes the window; while the card works
	// Escape cancels the operation instead.
	ctx, cancel := context.WithCancel(v.ctx)
	v.keys.escape = cancel
	prompt := func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		switch {
		case req.Kind == app.PromptNewPIN:
			return cardreader.NewSecret(append([]byte(nil), newPIN.Bytes()...)), nil
		case req.Kind == app.PromptPIN && !v.unblock, req.Kind == app.PromptPUK && v.unblock:
			return cardreader.NewSecret(append([]byte(nil), first.Bytes()...)), nil
		}
		return nil, app.ErrCancelled
	}
	go func() {
		defer cancel()
		defer first.Wipe()
		defer newPIN.Wipe()
		var err error
		if v.unblock {
			err = v.unblk.UnblockPIN(ctx, sel, ref, prompt)
		} else {
			err = v.change.ChangePIN(ctx, sel, ref, prompt)
		}
		v.later(func() { v.finished(err) })
	}()
}

// finished shows the outcome. A wrong PIN or PUK shows the tries left and
// leaves the form for the user to try again, never on its own.
func (v *PINView) finished(err error) {
	defer func() { v.ops++ }()
	v.running = false
	v.keys.escape = v.closeWindow
	v.setEditable(true)
	c := v.cat
	if err == nil {
		v.done = true
		msg := c.T("ui.pin.changed")
		switch sign := v.pin == cardreader.PINSignature; {
		case v.unblock && sign:
			msg = c.T("ui.sign_unblock.done")
		case v.unblock:
			msg = c.T("ui.unblock.done")
		case sign:
			msg = c.T("ui.sign_pin.changed")
		}
		v.say(widget.SuccessImportance, msg, "")
		v.form.Hide()
		v.check.Hide()
		v.cancel.Hide()
		v.submit.SetText(c.T("ui.close"))
		v.submit.Enable()
		v.focus(v.submit)
		v.cards.load()
		return
	}
	v.fail(err)
	var wrongPIN *cardreader.WrongPINError
	var wrongPUK *cardreader.WrongPUKError
	switch {
	case errors.As(err, &wrongPIN) && wrongPIN.Retries > 0:
		v.tries.SetText(triesText(c, wrongPIN.Retries, false))
		v.tries.Importance = importanceOfTries(wrongPIN.Retries, false)
	case errors.As(err, &wrongPUK) && wrongPUK.Retries > 0:
		v.tries.SetText(triesText(c, wrongPUK.Retries, false))
		v.tries.Importance = importanceOfTries(wrongPUK.Retries, false)
	case errors.Is(err, cardreader.ErrPINBlocked) && !v.unblock, errors.Is(err, cardreader.ErrPUKBlocked) && v.unblock:
		v.tries.SetText(c.T("status.blocked"))
		v.tries.Importance = widget.DangerImportance
		v.blocked = true
		switch {
		case errors.Is(err, cardreader.ErrPINBlocked) && v.pin == cardreader.PINSignature:
			v.hint.SetText(c.T("ui.hint.sign_pin_blocked"))
		case errors.Is(err, cardreader.ErrPINBlocked):
			v.hint.SetText(v.withHelpdesk(c.T("ui.hint.pin_blocked")))
		}
	}
	v.tries.Refresh()
	v.validate()
	v.focus(v.first)
}

func (v *PINView) setEditable(on bool) {
	for _, e := range []*secretEntry{v.first, v.newPIN, v.again} {
		if on {
			e.Enable()
		} else {
			e.Disable()
		}
	}
	if on {
		v.which.Enable()
	} else {
		v.which.Disable()
	}
}
