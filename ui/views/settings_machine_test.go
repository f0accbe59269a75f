package views

import (
	"context"
	"testing"

	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
)

// The MSI's machine-wide Run value starts SITHS eID for every user:
// Settings says so beside the box, which stays this user's own entry (and
// unticked, since ticking or unticking it cannot touch the machine-wide
// one). It used to say nothing, as if autostart were off.
func TestSettingsShowsMachineWideAutostart(t *testing.T) {
	prefs := &fakePrefs{s: config.Settings{Environment: environment.PROD}, locked: map[string]bool{}, set: map[string]string{}}
	auto := Autostart{
		State: func(context.Context) ([]autostart.Entry, error) {
			return []autostart.Entry{{Method: autostart.MachineRunKey, MachineWide: true, InForce: true,
				Path: autostart.MachineRunKeyPath + `\SITHS eID`}}, nil
		},
		Install:   func(context.Context) (*autostart.Entry, error) { return &autostart.Entry{}, nil },
		Uninstall: func(context.Context) ([]autostart.Entry, error) { return nil, nil },
	}
	_, vv := open(t, l10n.English, func(env *Env) View { return NewSettings(env, prefs, auto) })
	v := vv.(*SettingsView)
	eventually(t, "the autostart state", func() bool { return !v.autostart.Disabled() })
	eventually(t, "the machine-wide note", func() bool { return v.autoNote.Visible() })
	wantText(t, v.autoNote, "every user of this computer")
	if v.autostart.Checked {
		t.Error("the per-user box is ticked for the machine-wide entry")
	}
}
