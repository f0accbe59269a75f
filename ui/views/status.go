package views

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/usertext"
)

// StatusView shows the active card: holder, HSA-ID, card number,
// validity, tries left and what needs attention; a picker switches cards
// by card number when several are inserted. It follows the agent's
// events live.
type StatusView struct {
	*frame
	cards *cards

	holder, hsaID, number, valid, pin, puk *widget.Label
	// signPIN is the signature PIN's row, shown for cards that have one;
	// pinName then says "Legitimeringskod" instead of "PIN-kod".
	signPIN, pinName *widget.Label
	signRow          []fyne.CanvasObject
	warnings         *widget.Label
	// eids lists a card's SITHS eIDs when it has several (issue 15);
	// eidRow is its row, hidden otherwise.
	eids     *widget.Label
	eidRow   []fyne.CanvasObject
	details  *fyne.Container
	closeBtn *button
}

// NewStatus returns the status view.
func NewStatus(env *Env, src StatusSource) *StatusView {
	v := &StatusView{frame: newFrame(env)}
	v.cards = newCards(v.frame, src, v.update)
	mk := func() *widget.Label { l := widget.NewLabel(""); l.Wrapping = fyne.TextWrapWord; return l }
	v.holder, v.hsaID, v.number, v.valid, v.pin, v.puk = mk(), mk(), mk(), mk(), mk(), mk()
	v.warnings = mk()
	v.warnings.Importance = widget.WarningImportance
	v.warnings.Hide()
	c := v.cat
	v.signPIN = mk()
	pinRow := field(c.T("status.pin"), v.pin)
	v.pinName = pinRow[0].(*widget.Label)
	v.signRow = field(c.T("status.sign_pin"), v.signPIN)
	for _, o := range v.signRow {
		o.Hide()
	}
	v.eids = mk()
	v.eidRow = field(c.T("ui.status.eids"), v.eids)
	for _, o := range v.eidRow {
		o.Hide()
	}
	v.details = form(
		field(c.T("status.holder"), v.holder),
		field(c.T("status.hsaid"), v.hsaID),
		v.eidRow,
		field(c.T("ui.card_number"), v.number),
		field(c.T("status.valid"), v.valid),
		pinRow,
		v.signRow,
		field(c.T("status.puk"), v.puk),
		v.cards.row())
	v.details.Hide()
	v.closeBtn = v.keys.newButton(c.T("ui.close"), v.closeWindow)
	v.closeBtn.Importance = widget.HighImportance // the one primary action
	v.keys.enter = v.closeWindow
	v.show(container.NewVBox(
		heading(c.T("ui.status.title")),
		v.details,
		v.warnings,
		v.messages(),
		container.NewHBox(layoutSpacer(), v.closeBtn),
	))
	return v
}

func (v *StatusView) Title() string { return v.cat.T("ui.status.title") }

func (v *StatusView) Start(w fyne.Window) {
	v.attach(w)
	v.say(widget.MediumImportance, v.cat.T("ui.reading"), "")
	v.cards.load()
	v.cards.watch()
	v.focus(v.closeBtn)
}

// update shows cs, or why there is none.
func (v *StatusView) update(cs *app.CardStatus, err error) {
	c := v.cat
	if err != nil {
		v.details.Hide()
		v.warnings.Hide()
		if errors.Is(err, cardreader.ErrNoCard) && len(v.cards.list) == 0 {
			v.say(widget.MediumImportance, c.T("ui.status.insert_card"), c.T("hint.no_card"))
			return
		}
		v.loadFail(err)
		return
	}
	v.quiet()
	v.holder.SetText(cs.Holder.Name)
	v.hsaID.SetText(cs.Holder.HSAID)
	v.showEIDs(*cs)
	v.number.SetText(cs.CardNumber)
	if cs.NotBefore != nil && cs.NotAfter != nil {
		v.valid.SetText(c.T("ui.valid_range", date(c, *cs.NotBefore), date(c, *cs.NotAfter)))
	} else {
		v.valid.SetText("–")
	}
	v.pin.SetText(triesText(c, cs.PIN.Retries, cs.PIN.Blocked))
	v.pin.Importance = importanceOfTries(cs.PIN.Retries, cs.PIN.Blocked)
	v.pin.Refresh()
	if sp := cs.SignaturePIN; sp != nil {
		v.pinName.SetText(c.T("status.id_pin"))
		v.signPIN.SetText(triesText(c, sp.Retries, sp.Blocked))
		v.signPIN.Importance = importanceOfTries(sp.Retries, sp.Blocked)
		v.signPIN.Refresh()
		for _, o := range v.signRow {
			o.Show()
		}
	} else {
		v.pinName.SetText(c.T("status.pin"))
		for _, o := range v.signRow {
			o.Hide()
		}
	}
	if cs.PUK == nil {
		v.puk.SetText(c.T("ui.no_puk_short"))
	} else {
		v.puk.SetText(triesText(c, cs.PUK.Retries, cs.PUK.Blocked))
	}
	var ws []string
	for _, w := range cs.Warnings {
		if len(cs.EIDs) < 2 {
			w.Organisation = "" // one eID: whose goes without saying
		}
		if s := warningText(c, w); s != "" {
			ws = append(ws, "• "+s+certOfWarning(c, cs, w))
		}
		if w.Code == app.WarnPINBlockedNoPUK {
			// Only the region's helpdesk can unblock it: whom to call.
			if hd := usertext.Helpdesk(c, v.env.Helpdesk); hd != "" {
				ws = append(ws, "  "+hd)
			}
		}
	}
	if cs.Error != "" {
		ws = append(ws, "• "+c.T("ui.status.partial"))
	}
	if len(ws) > 0 {
		v.warnings.SetText(strings.Join(ws, "\n"))
		v.warnings.Show()
	} else {
		v.warnings.Hide()
	}
	v.details.Show()
	v.details.Refresh()
}

func importanceOfTries(retries int, blocked bool) widget.Importance {
	switch {
	case blocked || retries == 0:
		return widget.DangerImportance
	case retries == 1:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

// warningText phrases one warning of the card.
func warningText(c interface{ T(string, ...any) string }, w app.Warning) string {
	switch w.Code {
	case app.WarnPINBlocked:
		return c.T("ui.warn.pin_blocked")
	case app.WarnPINBlockedNoPUK:
		return c.T("ui.warn.pin_blocked_no_puk")
	case app.WarnPUKBlocked:
		return c.T("err.puk_blocked")
	case app.WarnSignaturePINBlocked:
		return c.T("ui.warn.sign_pin_blocked")
	case app.WarnCertificateExpired:
		if w.Organisation != "" {
			return c.T("ui.warn.expired_org", w.Organisation, w.HSAID, w.Days)
		}
		return c.T("ui.warn.expired", w.Days)
	case app.WarnCertificateExpiring:
		if w.Organisation != "" {
			return c.T("ui.warn.expiring_org", w.Organisation, w.HSAID, w.Days)
		}
		return c.T("ui.warn.expiring", w.Days)
	case app.WarnTooManyCertificates:
		return c.T("ui.warn.too_many", w.Days)
	case app.WarnReserveCard:
		return c.T("ui.warn.reserve")
	case app.WarnNoLoginCertificate:
		return c.T("err.no_login_cert")
	}
	return ""
}
