package ui

import (
	"context"

	"fyne.io/fyne/v2"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/startup"
	"github.com/sithseid/sithseid/ui/viewname"
	"github.com/sithseid/sithseid/ui/views"
)

// relanguageable are the views a changed language or environment rebuilds
// at once: they hold nothing the user typed or an operation in flight.
// The PIN, unblock, login and QR windows are said again in place instead
// (inPlace): a rebuild would drop a typed PIN or a login under way.
var relanguageable = map[string]bool{
	viewname.Status: true, viewname.Certs: true, viewname.Settings: true, viewname.About: true,
}

// inPlace is a view that shows another language in place, keeping what is
// typed and what runs (views' Relanguage).
type inPlace interface {
	Relanguage(cat *l10n.Catalog, environment string, helpdesk config.Helpdesk)
}

// liveView is the window's view, rebuilt when the user's preferences
// change the language or the environment (issue 17).
type liveView struct {
	cur views.View
}

func (l *liveView) Stop() { l.cur.Stop() }

// followSettings watches the user's preferences until ctx ends and, on
// the UI goroutine, calls rebuild with the catalogue of a changed
// language (langFlag, the --lang, and SITHSEID_LANG still win) or of the
// same language when the environment changed.
func followSettings(ctx context.Context, s *startup.Session, langFlag string, rebuild func(*l10n.Catalog)) {
	lang, envName := s.Lang(langFlag), environmentName(s)
	err := startup.WatchPreferences(ctx, s.Getenv, s.Log, func(cfg *config.Config) {
		// The session is the UI goroutine's (the views read it).
		fyne.DoAndWait(func() { s.Config, s.Settings = cfg, cfg.Effective() })
		nl, ne := s.Lang(langFlag), environmentName(s)
		if nl == lang && ne == envName {
			return
		}
		lang, envName = nl, ne
		cat := l10n.MustLoad(nl)
		fyne.Do(func() { rebuild(cat) })
	})
	if err != nil {
		s.Log.Info("settings apply to this window when it opens again", "err", err)
	}
}
