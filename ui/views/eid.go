package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
)

// EIDShortcut switches the approval window to the next organisation's
// eID: one keystroke, wherever the focus is (the PIN entry included).
var EIDShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierAlt}

// newEIDPicker builds the (hidden) row that picks the eID to log in as.
func (v *LoginView) newEIDPicker() {
	c := v.cat
	v.eidPick = v.keys.newChoice(nil, func(string) { v.eidChanged() })
	v.eidHint = widget.NewLabel(c.T("ui.login.eid_hint"))
	v.eidHint.Importance = widget.LowImportance
	v.eidRow = container.NewVBox(form(field(c.T("ui.login.eid"), v.eidPick)), v.eidHint)
	v.eidRow.Hide()
}

// addEIDShortcut makes EIDShortcut pick the next eID in w.
func (v *LoginView) addEIDShortcut(w fyne.Window) {
	if w == nil || w.Canvas() == nil {
		return
	}
	w.Canvas().AddShortcut(EIDShortcut, func(fyne.Shortcut) { v.NextEID() })
}

// showEIDs offers a's eIDs when the card has several, the default
// preselected; the choice goes to the login through a.Choose.
func (v *LoginView) showEIDs(a app.LoginApproval) {
	v.approval = a
	if len(a.EIDs) < 2 {
		v.eids, v.chooseFn = nil, nil
		v.eidRow.Hide()
		return
	}
	c := v.cat
	v.eids, v.chooseFn = a.EIDs, nil // the preselection is no choice
	opts := make([]string, len(a.EIDs))
	sel := 0
	for i, e := range a.EIDs {
		opts[i] = c.T("ui.login.eid_option", e.Organisation, e.HSAID, e.NotAfter.Local().Format("2006-01-02"))
		if e.HSAID == a.HSAID {
			sel = i
		}
	}
	v.eidPick.Options = opts
	v.eidPick.SetSelectedIndex(sel)
	v.chooseFn = a.Choose
	v.eidRow.Show()
}

// eidChanged tells the login the eID now selected and says it above.
func (v *LoginView) eidChanged() {
	i := v.eidPick.SelectedIndex()
	if i < 0 || i >= len(v.eids) {
		return
	}
	e := v.eids[i]
	if v.chooseFn != nil {
		v.chooseFn(e.HSAID)
	}
	a := v.approval
	v.who.SetText(v.cat.T("login.as", a.Holder, e.HSAID, a.CardNumber))
}

// NextEID selects the next eID (EIDShortcut), wrapping around.
func (v *LoginView) NextEID() {
	if len(v.eids) < 2 || !v.eidRow.Visible() {
		return
	}
	v.eidPick.SetSelectedIndex((v.eidPick.SelectedIndex() + 1) % len(v.eids))
}

// ChosenEID is the HSA-ID selected in the window, "" when there is no
// choice to make.
func (v *LoginView) ChosenEID() string {
	i := v.eidPick.SelectedIndex()
	if len(v.eids) < 2 || i < 0 || i >= len(v.eids) {
		return ""
	}
	return v.eids[i].HSAID
}
