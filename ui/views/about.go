package views

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/internal/usertext"
)

// AboutInfo is what "Om SITHS eID" shows.
type AboutInfo struct {
	Version     string
	Environment string
	// AgentVersion is the running agent's version ("" when unknown).
	AgentVersion string
	// Diagnostics writes the diagnostics archive (by the agent, else
	// diag.WriteFile with this process's configuration) to path.
	Diagnostics func(ctx context.Context, path string) error
}

// AboutView is "Om SITHS eID / Diagnostik": the version, the environment,
// and an export of the diagnostics archive for helpdesk (never a PIN or
// PUK; personal numbers masked).
type AboutView struct {
	*frame
	info    AboutInfo
	path    *entry
	diagB   *button
	closeB  *button
	running bool
	ops     int
	// helpdesk is policy's helpdesk, nil when it names none.
	helpdesk *widget.Label
}

// NewAbout returns the about view.
func NewAbout(env *Env, info AboutInfo) *AboutView {
	v := &AboutView{frame: newFrame(env), info: info}
	c := v.cat
	v.path = v.keys.newEntry("")
	// The path wraps inside the window (a long home directory ran off it)
	// and stays whole in the field to select and copy.
	v.path.MultiLine = true
	v.path.Wrapping = fyne.TextWrapBreak
	v.path.SetMinRowsVisible(2)
	v.path.SetText(defaultDiagPath(env))
	v.diagB = v.keys.newButton(c.T("ui.about.diag"), v.export)
	v.diagB.Importance = widget.HighImportance
	if info.Diagnostics == nil {
		v.diagB.Disable()
	}
	v.closeB = v.keys.newButton(c.T("ui.close"), v.closeWindow)
	v.keys.enter = v.export
	agent := info.AgentVersion
	if agent == "" {
		agent = "–"
	}
	// Whom to call, always, when policy names the region's helpdesk
	// (issue 17).
	var helpdeskRow []fyne.CanvasObject
	if hd := usertext.Helpdesk(c, env.Helpdesk); hd != "" {
		v.helpdesk = widget.NewLabel(hd)
		v.helpdesk.Wrapping = fyne.TextWrapWord
		v.helpdesk.Selectable = true
		helpdeskRow = field(c.T("ui.about.helpdesk"), v.helpdesk)
	}
	// No "SITHS eID" heading: the window's title says it, and the card's
	// state above (header) keeps the window within 440 units.
	v.show(container.NewVBox(
		para(c.T("ui.about.intro")),
		form(
			// This program's and the agent's versions on one row.
			field(c.T("ui.about.version"), widget.NewLabel(c.T("ui.about.versions", info.Version, agent))),
			field(c.T("ui.settings.env"), widget.NewLabel(info.Environment)),
			helpdeskRow,
			field(c.T("ui.about.diag_file"), v.path)),
		para(c.T("ui.about.diag_intro")),
		v.messages(),
		container.NewHBox(layoutSpacer(), v.closeB, v.diagB),
	))
	return v
}

func defaultDiagPath(env *Env) string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, "sithseid-diagnostik-"+env.now().Format("20060102-150405")+".zip")
}

func (v *AboutView) Title() string { return v.cat.T("ui.about.title") }

func (v *AboutView) Start(w fyne.Window) {
	v.attach(w)
	v.head.follow(v.frame.env.State) // the card's state, as the agent knows it
	v.focus(v.diagB)
}

func (v *AboutView) export() {
	if v.running || v.info.Diagnostics == nil {
		return
	}
	path := strings.TrimSpace(strings.ReplaceAll(v.path.Text, "\n", ""))
	if path == "" {
		return
	}
	if !filepath.IsAbs(path) {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
	}
	v.running = true
	v.diagB.Disable()
	v.say(widget.MediumImportance, v.cat.T("ui.working"), "")
	go func() {
		err := v.info.Diagnostics(v.ctx, path)
		v.later(func() {
			defer func() { v.ops++ }()
			v.running = false
			v.diagB.Enable()
			if err != nil {
				v.fail(err)
				return
			}
			v.say(widget.SuccessImportance, v.cat.T("diag.written", path), "")
		})
	}()
}
