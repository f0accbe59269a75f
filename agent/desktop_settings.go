package agent

import (
	"context"
	"errors"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/startup"
)

// catalog is the language the tray and the notifications speak now.
func (d *agentDesktop) catalog() *l10n.Catalog {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cat
}

// followSettings applies what the user changes in Inställningar (or
// another sithseid writes to the user's preferences) at once, not after a
// restart: the tray's and the notifications' language, and the
// environment. It watches the preferences file's directory (the file is
// replaced, not rewritten) until ctx ends.
func (d *agentDesktop) followSettings(ctx context.Context) {
	if err := startup.WatchPreferences(ctx, d.s.Getenv, d.log, d.applySettings); err != nil {
		d.log.Info("settings are applied at the next start", "err", err)
		return
	}
	if d.watching != nil {
		close(d.watching)
	}
}

// applySettings applies the reloaded preferences: a changed language
// (unless --lang or SITHSEID_LANG chose it at start) and environment.
func (d *agentDesktop) applySettings(cfg *config.Config) {
	d.settings.Lock()
	defer d.settings.Unlock()
	d.s.Config, d.s.Settings = cfg, cfg.Effective()
	if d.followLang {
		if lang := d.s.Lang(""); lang != d.catalog().Lang {
			cat := l10n.MustLoad(lang)
			d.mu.Lock()
			d.cat = cat
			d.mu.Unlock()
			d.tray.SetCatalog(cat)
			d.log.Info("language changed", "lang", lang)
		}
	}
	env, err := d.s.Environment("", "")
	if err != nil && !errors.Is(err, environment.ErrNotConfigured) {
		d.log.Info("the changed environment", "err", err)
		return
	}
	d.mu.Lock()
	changed := env.Name != d.env
	d.env, d.canSwitch, d.demoOff = env.Name, cfg.CanSwitchEnvironment(), !cfg.DemoAllowed()
	d.mu.Unlock()
	if changed && d.agent != nil {
		d.agent.SetEnvironment(env)
		d.log.Info("environment changed", "environment", env.Name)
	}
	d.show()
}
