package views

import (
	"context"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

// maxCertificates is where the card warns: more than six certificates
// caused failed card upgrades (DESIGN.md).
const maxCertificates = 6

// CertsView is "Certifikat": the certificates on the card, the details of
// the one chosen, export to a folder as PEM or DER, removal with a
// confirmation (and an explicit extra one for the login certificate), and
// "remove expired".
type CertsView struct {
	*frame
	agent CertManager
	cards *cards

	certs   []app.CertStatus
	sel     int // index into certs, -1 for none
	retries int
	blocked bool
	// noRemoval: the card's certificates cannot be removed here (the
	// native IDPrime backend); said once, and no PIN is asked for it.
	noRemoval bool
	// status is the card as last read: its eIDs group the list (eid.go).
	status    app.CardStatus
	removeEID *button
	card      *widget.Label
	warn      *widget.Label
	list      *list
	details   *widget.Label
	// summary is the chosen certificate's validity, beside detailsB,
	// which shows or hides its names and fingerprints (details).
	summary     *widget.Label
	detailsB    *button
	showDetails bool
	// rows is the list's height: four rows, two while the details show.
	rows *canvas.Rectangle
	// cardBox is the card line and the too-many warning, hidden while
	// the details show (their subject names the holder).
	cardBox  *fyne.Container
	exportB  *button
	removeB  *button
	expiredB *button
	closeB   *button
	main     fyne.CanvasObject

	// The confirmation panel.
	confirmText *widget.Label
	loginCheck  *check
	pin         *secretEntry
	pinTries    *widget.Label
	confirmB    *button
	backB       *button
	pending     func(ctx context.Context, prompt app.Prompt, confirmLogin bool) error
	pendingLog  bool // the removal includes the login certificate

	// The export panel.
	folder  *entry
	format  *choice
	browseB *button
	doExpB  *button

	running bool
	ops     int // finished operations (tests wait on it)
}

// NewCerts returns the certificates view.
func NewCerts(env *Env, agent CertManager) *CertsView {
	v := &CertsView{frame: newFrame(env), agent: agent, sel: -1}
	c := v.cat
	v.cards = newCards(v.frame, agent, v.cardChanged)
	v.card = para("")
	v.warn = para("")
	v.warn.Importance = widget.WarningImportance
	v.warn.Hide()
	v.list = v.keys.newList(
		func() int { return len(v.certs) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(v.certs) {
				o.(*widget.Label).SetText(v.certLine(v.certs[i]))
			}
		})
	v.list.OnSelected = func(i widget.ListItemID) { v.sel = i; v.refreshButtons() }
	v.list.OnUnselected = func(widget.ListItemID) { v.sel = -1; v.refreshButtons() }
	v.details = para("")
	v.details.Selectable = true
	v.summary = para("")
	v.detailsB = v.keys.newButton(c.T("ui.certs.show_details"), v.toggleDetails)
	v.detailsB.Importance = widget.LowImportance
	v.exportB = v.keys.newButton(c.T("ui.certs.export"), v.showExport)
	v.removeB = v.keys.newButton(c.T("ui.certs.remove"), v.confirmRemove)
	v.expiredB = v.keys.newButton(c.T("ui.certs.remove_expired"), v.confirmExpired)
	v.removeEID = v.keys.newButton(c.T("ui.certs.remove_eid"), v.confirmRemoveEID)
	v.closeB = v.keys.newButton(c.T("ui.close"), v.closeWindow)
	v.closeB.Importance = widget.HighImportance // the one primary action
	v.keys.enter = v.showExport
	// The list takes the window's width and four rows' height (it
	// scrolls beyond); two while the details show. With no heading (the
	// window's title names it) and the details behind a button, the
	// window fits a 1366×768 screen at 150 % (look_test.go).
	v.rows = canvas.NewRectangle(color.Transparent)
	v.setListRows(4)
	listBox := container.NewStack(v.rows, v.list)
	v.cardBox = container.NewVBox(v.card, v.warn)
	v.main = container.NewVBox(
		form(v.cards.row()),
		v.cardBox,
		listBox,
		container.NewBorder(nil, nil, nil, v.detailsB, v.summary),
		v.details,
		v.messages(),
		container.NewHBox(v.exportB, v.removeB, v.removeEID, v.expiredB, layoutSpacer(), v.closeB),
	)

	v.confirmText = para("")
	v.loginCheck = v.keys.newCheck(c.T("ui.certs.confirm_login"), func(bool) { v.refreshConfirm() })
	v.pin = v.keys.newSecretEntry(c.T("ui.pin.placeholder"), cardreader.MaxPINLength)
	v.pin.onChanged = v.refreshConfirm
	v.pinTries = widget.NewLabel("")
	v.confirmB = v.keys.newButton(c.T("ui.certs.remove_confirm"), v.runRemove)
	v.confirmB.Importance = widget.DangerImportance
	v.backB = v.keys.newButton(c.T("ui.back"), v.back)

	v.folder = v.keys.newEntry("")
	v.format = v.keys.newChoice([]string{"PEM", "DER"}, nil)
	v.format.SetSelected("PEM")
	v.browseB = v.keys.newButton(c.T("ui.certs.browse"), v.browse)
	v.doExpB = v.keys.newButton(c.T("ui.certs.export_do"), v.runExport)
	v.doExpB.Importance = widget.HighImportance

	v.show(v.main)
	v.refreshButtons()
	return v
}

func (v *CertsView) Title() string { return v.cat.T("ui.certs.title") }

// setListRows makes the list n rows high.
func (v *CertsView) setListRows(n int) {
	v.rows.SetMinSize(fyne.NewSize(0, float32(n)*v.list.MinSize().Height+float32(n)*theme.Padding()))
	v.rows.Refresh()
}

// toggleDetails shows or hides the chosen certificate's names, serial
// number and fingerprint.
func (v *CertsView) toggleDetails() {
	v.showDetails = !v.showDetails
	if v.showDetails {
		v.detailsB.SetText(v.cat.T("ui.certs.hide_details"))
		v.setListRows(2)
		v.cardBox.Hide()
	} else {
		v.detailsB.SetText(v.cat.T("ui.certs.show_details"))
		v.setListRows(4)
		v.cardBox.Show()
	}
	v.refreshButtons()
	v.fit()
}

func (v *CertsView) Start(w fyne.Window) {
	v.attach(w)
	v.cards.load()
	v.cards.watch()
	v.focus(v.list)
}

func (v *CertsView) certLine(cs app.CertStatus) string {
	c := v.cat
	// The holder's name is the same on every line: the details show it.
	parts := []string{kindName(c, cs.Kind), usageName(c, cs.Usage)}
	if e, ok := v.eidOf(cs.ID); ok && len(v.status.EIDs) > 1 {
		// Several organisations' eIDs: each line says whose.
		parts = append([]string{e.Organisation + " (" + e.HSAID + ")"}, parts...)
	}
	line := strings.Join(parts, " · ") + " · " + c.T("ui.certs.until", date(c, cs.NotAfter))
	if cs.Login {
		line += " · " + c.T("ui.certs.login")
	}
	if cs.Expired {
		line += " · " + c.T("ui.certs.expired")
	}
	return line
}

func kindName(c interface{ T(string, ...any) string }, kind string) string {
	switch kind {
	case "hsa":
		return c.T("kind.hsa")
	case "personal":
		return c.T("ui.kind.personal")
	}
	return c.T("kind.other")
}

func usageName(c interface{ T(string, ...any) string }, usage string) string {
	switch usage {
	case "auth":
		return c.T("ui.usage.auth")
	case "sign":
		return c.T("ui.usage.sign")
	}
	return usage
}

// readableName is a distinguished name without the attributes people
// cannot read (an OID with a hex value, such as surname and given name
// as 2.5.4.4=#13…), with a space after each comma.
func readableName(dn string) string {
	var keep []string
	for _, part := range strings.Split(dn, ",") {
		part = strings.TrimSpace(part)
		if part == "" || (part[0] >= '0' && part[0] <= '9') {
			continue
		}
		keep = append(keep, part)
	}
	return strings.Join(keep, ", ")
}

func (v *CertsView) cardChanged(cs *app.CardStatus, err error) {
	c := v.cat
	v.list.UnselectAll()
	v.sel = -1
	if err != nil {
		v.certs = nil
		v.card.SetText("")
		v.warn.Hide()
		v.list.Refresh()
		v.loadFail(err)
		v.refreshButtons()
		return
	}
	v.loadQuiet()
	v.card.SetText(cardLine(c, *cs))
	v.status = *cs
	v.certs = groupByEID(*cs)
	v.retries, v.blocked = cs.PIN.Retries, cs.PIN.Blocked
	v.noRemoval = cs.RemovalUnsupported
	if len(v.certs) > maxCertificates {
		v.warn.SetText(c.T("ui.warn.too_many", len(v.certs)))
		v.warn.Show()
	} else {
		v.warn.Hide()
	}
	switch {
	case len(v.certs) == 0:
		v.loadSay(widget.MediumImportance, c.T("certs.none"), "")
	case v.noRemoval:
		v.loadSay(widget.MediumImportance, c.T("err.removal_unsupported"), c.T("hint.removal_unsupported"))
	}
	v.list.Refresh()
	if len(v.certs) > 0 {
		v.list.Select(0)
	}
	v.refreshButtons()
}

func (v *CertsView) selected() *app.CertStatus {
	if v.sel < 0 || v.sel >= len(v.certs) {
		return nil
	}
	return &v.certs[v.sel]
}

func (v *CertsView) expired() []app.CertStatus {
	var out []app.CertStatus
	for _, cs := range v.certs {
		if cs.Expired {
			out = append(out, cs)
		}
	}
	return out
}

func (v *CertsView) refreshButtons() {
	c := v.cat
	if cs := v.selected(); cs != nil {
		v.summary.SetText(c.T("ui.certs.validity", date(c, cs.NotBefore), date(c, cs.NotAfter)))
		v.summary.Show()
		v.detailsB.Show()
		v.details.SetText(strings.Join([]string{
			c.T("ui.certs.subject", readableName(cs.Subject)),
			c.T("ui.certs.issuer", readableName(cs.Issuer)),
			c.T("ui.certs.serial", cs.Serial),
			c.T("ui.certs.sha256", cs.SHA256),
		}, "\n"))
		if v.showDetails {
			v.details.Show()
		} else {
			v.details.Hide()
		}
	} else {
		v.summary.SetText("")
		v.summary.Hide()
		v.detailsB.Hide()
		v.details.SetText("")
		v.details.Hide()
	}
	enable := func(b *button, on bool) {
		if on && !v.running {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	enable(v.exportB, len(v.certs) > 0)
	enable(v.removeB, v.selected() != nil && !v.blocked && !v.noRemoval)
	enable(v.expiredB, len(v.expired()) > 0 && !v.blocked && !v.noRemoval)
	v.refreshEIDButton(enable)
}

// back returns from a panel to the list.
func (v *CertsView) back() {
	v.quiet()
	v.pin.Wipe()
	v.pending = nil
	v.keys.escape = v.closeWindow
	v.keys.enter = v.showExport
	v.show(v.main)
	v.refreshButtons()
	v.focus(v.list)
}

// confirmRemove asks before removing the chosen certificate.
func (v *CertsView) confirmRemove() {
	cs := v.selected()
	if cs == nil || v.running || v.noRemoval {
		return
	}
	id := cs.ID
	sel := v.cards.selector() // here, on the UI goroutine: the removal runs off it
	v.askConfirm(v.cat.T("ui.certs.remove_ask", v.certLine(*cs)), cs.Login,
		func(ctx context.Context, prompt app.Prompt, confirmLogin bool) error {
			return v.agent.RemoveCertificate(ctx, sel, id, app.RemoveOptions{ConfirmLogin: confirmLogin}, prompt)
		})
}

// confirmExpired asks before removing every expired certificate.
func (v *CertsView) confirmExpired() {
	exp := v.expired()
	if len(exp) == 0 || v.running || v.noRemoval {
		return
	}
	login := false
	var lines []string
	for _, cs := range exp {
		login = login || cs.Login
		lines = append(lines, "• "+v.certLine(cs))
	}
	sel := v.cards.selector() // here, on the UI goroutine: the removal runs off it
	v.askConfirm(v.cat.T("ui.certs.expired_ask", len(exp))+"\n"+strings.Join(lines, "\n"), login,
		func(ctx context.Context, prompt app.Prompt, confirmLogin bool) error {
			_, err := v.agent.RemoveExpired(ctx, sel, app.RemoveOptions{ConfirmLogin: confirmLogin}, prompt)
			return err
		})
}

func (v *CertsView) askConfirm(text string, login bool, op func(context.Context, app.Prompt, bool) error) {
	c := v.cat
	v.pending, v.pendingLog = op, login
	v.confirmText.SetText(text + "\n" + c.T("ui.certs.irreversible"))
	v.loginCheck.SetChecked(false)
	v.pin.Wipe()
	v.pinTries.SetText(triesText(c, v.retries, v.blocked))
	v.pinTries.Importance = importanceOfTries(v.retries, v.blocked)
	rows := [][]fyne.CanvasObject{field(c.T("ui.pin.tries"), v.pinTries), field(c.T("prompt.pin"), v.pin)}
	parts := []fyne.CanvasObject{heading(c.T("ui.certs.remove_title")), v.confirmText}
	if login {
		warn := para(c.T("ui.certs.login_warning"))
		warn.Importance = widget.DangerImportance
		parts = append(parts, warn, v.loginCheck)
	}
	parts = append(parts, form(rows...), v.messages(), container.NewHBox(layoutSpacer(), v.backB, v.confirmB))
	v.quiet()
	v.keys.escape = v.back
	v.keys.enter = v.runRemove
	v.show(container.NewVBox(parts...))
	v.refreshConfirm()
	if login {
		v.focus(v.loginCheck)
	} else {
		v.focus(v.pin)
	}
}

func (v *CertsView) refreshConfirm() {
	ok := cardreader.CheckPINFormat(v.pin.peek()) == nil &&
		(!v.pendingLog || v.loginCheck.Checked) && !v.running && v.pending != nil
	if ok {
		v.confirmB.Enable()
	} else {
		v.confirmB.Disable()
	}
}

// runRemove removes what the panel asked about, with the PIN typed there.
func (v *CertsView) runRemove() {
	if v.confirmB.Disabled() || v.pending == nil {
		return
	}
	op, login := v.pending, v.pendingLog && v.loginCheck.Checked
	pin := v.pin.Take()
	v.running = true
	v.refreshConfirm()
	v.say(widget.MediumImportance, v.cat.T("ui.working"), "")
	ctx, cancel := context.WithCancel(v.ctx)
	v.keys.escape = cancel
	prompt := func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		if req.Kind != app.PromptPIN {
			return nil, app.ErrCancelled
		}
		return cardreader.NewSecret(append([]byte(nil), pin.Bytes()...)), nil
	}
	go func() {
		defer cancel()
		defer pin.Wipe()
		err := op(ctx, prompt, login)
		v.later(func() {
			defer func() { v.ops++ }()
			v.running = false
			v.keys.escape = v.back
			if err != nil {
				v.fail(err)
				v.refreshConfirm()
				v.focus(v.pin)
				v.cards.load()
				return
			}
			v.back()
			v.say(widget.SuccessImportance, v.cat.T("ui.certs.removed"), "")
			v.cards.load()
		})
	}()
}

// showExport shows the export panel: a folder and a format.
func (v *CertsView) showExport() {
	if len(v.certs) == 0 || v.running {
		return
	}
	c := v.cat
	if v.folder.Text == "" {
		v.folder.SetText(defaultExportDir())
	}
	v.quiet()
	v.keys.escape = v.back
	v.keys.enter = v.runExport
	v.show(container.NewVBox(
		heading(c.T("ui.certs.export_title")),
		para(c.T("ui.certs.export_intro", len(v.certs))),
		form(
			field(c.T("ui.certs.folder"), container.NewBorder(nil, nil, nil, v.browseB, v.folder)),
			field(c.T("ui.certs.format"), v.format)),
		v.messages(),
		container.NewHBox(layoutSpacer(), v.backB, v.doExpB),
	))
	v.focus(v.folder)
}

func defaultExportDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, "SITHS-certifikat")
}

// browse picks the folder with the platform's folder dialog.
func (v *CertsView) browse() {
	if v.win == nil {
		return
	}
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err == nil && u != nil {
			v.folder.SetText(u.Path())
		}
		v.focus(v.folder)
	}, v.win)
	if dir := v.folder.Text; dir != "" {
		if u, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(dir))); err == nil {
			d.SetLocation(u)
		}
	}
	d.Show()
}

func (v *CertsView) runExport() {
	if v.running {
		return
	}
	dir := strings.TrimSpace(v.folder.Text)
	if dir == "" {
		v.say(widget.DangerImportance, v.cat.T("ui.certs.folder_missing"), "")
		return
	}
	format := app.PEM
	if v.format.Selected == "DER" {
		format = app.DER
	}
	v.running = true
	v.doExpB.Disable()
	v.say(widget.MediumImportance, v.cat.T("ui.working"), "")
	sel := v.cards.selector()
	go func() {
		files, err := v.agent.Export(v.ctx, sel, dir, format)
		v.later(func() {
			defer func() { v.ops++ }()
			v.running = false
			v.doExpB.Enable()
			if err != nil {
				v.fail(err)
				return
			}
			v.back()
			v.say(widget.SuccessImportance, v.cat.T("ui.certs.exported", len(files), dir), "")
			v.env.log().Info("certificates exported", "files", fmt.Sprint(len(files)), "dir", dir)
		})
	}()
}
