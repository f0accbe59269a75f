package views

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
)

// Preferences are the user's settings over policy: *config.Config.
type Preferences interface {
	Effective() config.Settings
	Locked(key string) bool
	SetUser(key, value string) error
	UnsetUser(key string) error
}

var _ Preferences = (*config.Config)(nil)

// Autostart starts the agent with the session (autostart.Install and
// friends, bound to this user's environment by package ui).
type Autostart struct {
	State     func(context.Context) ([]autostart.Entry, error)
	Install   func(context.Context) (*autostart.Entry, error)
	Uninstall func(context.Context) ([]autostart.Entry, error)
}

// SettingsView is "Inställningar": language (sv, en or the system's),
// environment when policy lets the user switch, and autostart.
type SettingsView struct {
	*frame
	prefs Preferences
	auto  Autostart

	lang      *choice
	env       *choice
	envNote   *widget.Label
	autostart *check
	autoNote  *widget.Label
	saveB     *button
	closeB    *button
	autoWas   bool
	running   bool
	ops       int
}

// envChoices are the environments the view offers: DEMO only where it
// is allowed (policy's allowDemo, else the build's default: off in the
// installed packages), so a choice the agent would refuse is never shown.
func envChoices(s config.Settings) []string {
	var out []string
	for _, n := range environment.Names {
		if n == environment.DEMO && !s.AllowDemo {
			continue
		}
		out = append(out, n)
	}
	return out
}

// NewSettings returns the settings view.
func NewSettings(env *Env, prefs Preferences, auto Autostart) *SettingsView {
	v := &SettingsView{frame: newFrame(env), prefs: prefs, auto: auto}
	c := v.cat
	v.lang = v.keys.newChoice([]string{c.T("ui.settings.lang_system"), "Svenska", "English"}, nil)
	v.env = v.keys.newChoice(envChoices(prefs.Effective()), nil)
	v.envNote = para("")
	v.envNote.Hide()
	v.autostart = v.keys.newCheck(c.T("ui.settings.autostart"), nil)
	v.autostart.Disable()
	v.autoNote = para("")
	v.autoNote.Hide()
	v.saveB = v.keys.newButton(c.T("ui.save"), v.save)
	v.saveB.Importance = widget.HighImportance
	v.closeB = v.keys.newButton(c.T("ui.close"), v.closeWindow)
	v.keys.enter = v.save
	v.show(container.NewVBox(
		heading(c.T("ui.settings.title")),
		form(
			field(c.T("ui.settings.lang"), v.lang),
			// Each note under its control, in the same row: a hidden
			// note leaves no empty row behind.
			field(c.T("ui.settings.env"), container.NewVBox(v.env, v.envNote)),
			field(c.T("ui.settings.start"), container.NewVBox(v.autostart, v.autoNote))),
		v.messages(),
		container.NewHBox(layoutSpacer(), v.closeB, v.saveB),
	))
	v.load()
	return v
}

func (v *SettingsView) Title() string { return v.cat.T("ui.settings.title") }

func (v *SettingsView) Start(w fyne.Window) {
	v.attach(w)
	v.head.follow(v.frame.env.State) // the card's state, as the agent knows it
	v.focus(v.lang)
	if v.auto.State == nil {
		return
	}
	go func() {
		entries, err := v.auto.State(v.ctx)
		v.later(func() {
			if err != nil {
				v.fail(err)
				return
			}
			// The box is this user's own entry; the installation's
			// machine-wide one (Windows: the MSI's HKLM Run value) is
			// shown beside it, which the box cannot remove.
			v.autoWas = false
			for _, e := range entries {
				switch {
				case e.MachineWide && e.Disabled:
					v.autoNote.SetText(v.cat.T("ui.settings.autostart_machine_off"))
					v.autoNote.Show()
				case e.MachineWide:
					v.autoNote.SetText(v.cat.T("ui.settings.autostart_machine"))
					v.autoNote.Show()
				default:
					v.autoWas = true
				}
			}
			v.autostart.SetChecked(v.autoWas)
			v.autostart.Enable()
		})
	}()
}

// load shows the effective settings and what policy locks.
func (v *SettingsView) load() {
	c := v.cat
	s := v.prefs.Effective()
	switch s.Language {
	case "sv":
		v.lang.SetSelectedIndex(1)
	case "en":
		v.lang.SetSelectedIndex(2)
	default:
		v.lang.SetSelectedIndex(0)
	}
	if v.prefs.Locked(config.KeyLanguage) {
		v.lang.Disable()
	}
	v.env.SetSelected(s.Environment)
	if v.prefs.Locked(config.KeyEnvironment) {
		v.env.Disable()
		v.envNote.SetText(c.T("ui.settings.env_locked"))
	} else {
		v.envNote.SetText(c.T("ui.settings.env_restart"))
	}
	// The session runs in another environment than the saved one
	// (SITHSEID_ENV): say so, or the banner and the choice disagree.
	saved := s.Environment
	if saved == "" {
		saved = environment.PROD
	}
	if now := strings.ToUpper(strings.TrimSpace(v.frame.env.Environment)); now != "" && now != strings.ToUpper(saved) {
		v.envNote.SetText(c.T("ui.settings.env_session", now))
	}
	v.envNote.Show()
}

// save writes what changed to the user's preferences and turns autostart
// on or off.
func (v *SettingsView) save() {
	if v.running {
		return
	}
	c := v.cat
	s := v.prefs.Effective()
	langs := []string{"", "sv", "en"}
	var errs []error
	if lang := langs[max(0, v.lang.SelectedIndex())]; lang != s.Language && !v.prefs.Locked(config.KeyLanguage) {
		if lang == "" {
			errs = append(errs, v.prefs.UnsetUser(config.KeyLanguage))
		} else {
			errs = append(errs, v.prefs.SetUser(config.KeyLanguage, lang))
		}
	}
	if env := v.env.Selected; env != "" && env != s.Environment && !v.prefs.Locked(config.KeyEnvironment) {
		errs = append(errs, v.prefs.SetUser(config.KeyEnvironment, env))
	}
	if err := errors.Join(errs...); err != nil {
		v.fail(err)
		return
	}
	want := v.autostart.Checked
	if v.auto.Install == nil || v.autostart.Disabled() || want == v.autoWas {
		defer func() { v.ops++ }()
		v.say(widget.SuccessImportance, c.T("ui.settings.saved"), "")
		return
	}
	v.running = true
	v.saveB.Disable()
	go func() {
		var err error
		if want {
			_, err = v.auto.Install(v.ctx)
		} else {
			_, err = v.auto.Uninstall(v.ctx)
		}
		v.later(func() {
			defer func() { v.ops++ }()
			v.running = false
			v.saveB.Enable()
			if err != nil {
				v.fail(err)
				return
			}
			v.autoWas = want
			v.say(widget.SuccessImportance, c.T("ui.settings.saved"), "")
		})
	}()
}
