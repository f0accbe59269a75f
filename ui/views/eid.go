package views

import (
	"context"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/usertext"
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

// EIDRemover removes one organisation's eID (the agent's local API client
// does; app.Service.RemoveEID).
type EIDRemover interface {
	RemoveEID(context.Context, app.Selector, string, app.RemoveOptions, app.Prompt) ([]string, error)
}

// groupByEID orders a card's certificates eID by eID (card order of the
// eIDs, each eID's certificates together), then the rest (the
// personal-number pair).
func groupByEID(cs app.CardStatus) []app.CertStatus {
	byID := map[string]app.CertStatus{}
	for _, c := range cs.Certificates {
		byID[c.ID] = c
	}
	var out []app.CertStatus
	seen := map[string]bool{}
	for _, e := range cs.EIDs {
		for _, id := range e.CertIDs {
			if c, ok := byID[id]; ok && !seen[id] {
				out, seen[id] = append(out, c), true
			}
		}
	}
	for _, c := range cs.Certificates {
		if !seen[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// eidOf is the eID certificate id belongs to.
func (v *CertsView) eidOf(id string) (app.EIDStatus, bool) {
	for _, e := range v.status.EIDs {
		if slices.Contains(e.CertIDs, id) {
			return e, true
		}
	}
	return app.EIDStatus{}, false
}

// refreshEIDButton shows "Ta bort eID…" on cards with several eIDs,
// enabled when the selected certificate belongs to one and the agent can
// remove eIDs.
func (v *CertsView) refreshEIDButton(enable func(*button, bool)) {
	_, canRemove := v.agent.(EIDRemover)
	if len(v.status.EIDs) < 2 || !canRemove {
		v.removeEID.Hide()
		return
	}
	v.removeEID.Show()
	on := false
	if cs := v.selected(); cs != nil {
		_, on = v.eidOf(cs.ID)
	}
	enable(v.removeEID, on && !v.blocked && !v.noRemoval)
}

// confirmRemoveEID asks before removing the selected certificate's eID:
// the confirmation names the organisation and HSA-ID and says what
// removing the default or the only LoA3 eID means (usertext.EIDRemoval);
// the default eID needs the extra check, as the login certificate does.
func (v *CertsView) confirmRemoveEID() {
	cs := v.selected()
	r, ok := v.agent.(EIDRemover)
	if cs == nil || v.running || v.noRemoval || !ok {
		return
	}
	e, ok := v.eidOf(cs.ID)
	if !ok {
		return
	}
	n, ok := app.EIDRemoval(v.status, e.HSAID)
	if !ok {
		return
	}
	hsaID := e.HSAID
	sel := v.cards.selector() // on the UI goroutine: the removal runs off it
	v.askConfirm(strings.Join(usertext.EIDRemoval(v.cat, n), "\n"), n.Default,
		func(ctx context.Context, prompt app.Prompt, confirmLogin bool) error {
			// This panel is the confirmation naming the organisation; the
			// default eID's extra check is confirmLogin.
			_, err := r.RemoveEID(ctx, sel, hsaID, app.RemoveOptions{ConfirmLogin: confirmLogin || !n.Default}, prompt)
			return err
		})
}

// ConfirmText is the text of the open confirmation panel (tests).
func (v *CertsView) ConfirmText() string { return v.confirmText.Text }

// showEIDs lists the card's eIDs in the status window when it has
// several: organisation, HSA-ID, valid until, the default marked.
func (v *StatusView) showEIDs(cs app.CardStatus) {
	if len(cs.EIDs) < 2 {
		for _, o := range v.eidRow {
			o.Hide()
		}
		return
	}
	c := v.cat
	var lines []string
	for _, e := range cs.EIDs {
		until := "–"
		if e.NotAfter != nil {
			until = date(c, *e.NotAfter)
		}
		s := c.T("status.eid_value", e.Organisation, e.HSAID, until)
		if e.Default {
			s += " " + c.T("status.eid_default")
		}
		if e.Expired {
			s += " " + c.T("status.eid_expired")
		}
		lines = append(lines, s)
	}
	v.eids.SetText(strings.Join(lines, "\n"))
	for _, o := range v.eidRow {
		o.Show()
	}
}
