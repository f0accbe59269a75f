package ui

import (
	"context"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	"github.com/fsnotify/fsnotify"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/startup"
	"github.com/sithseid/sithseid/ui/viewname"
	"github.com/sithseid/sithseid/ui/views"
)

// relanguageable are the views a changed language or environment rebuilds
// at once: they hold nothing the user typed or an operation in flight.
// The PIN, unblock, login and QR windows keep theirs until they close
// (a rebuild would drop a typed PIN or a login under way).
var relanguageable = map[string]bool{
	viewname.Status: true, viewname.Certs: true, viewname.Settings: true, viewname.About: true,
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
	o := startup.ConfigOptions(s.Getenv)
	if o.UserFile == "" {
		f, err := config.DefaultUserFile()
		if err != nil {
			return
		}
		o.UserFile = f
	}
	o.LenientUser = true
	dir := filepath.Dir(o.UserFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		s.Log.Info("settings apply to this window when it opens again", "err", err)
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.Log.Info("settings apply to this window when it opens again", "err", err)
		return
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		s.Log.Info("settings apply to this window when it opens again", "err", err)
		return
	}
	lang, envName := s.Lang(langFlag), environmentName(s)
	file := filepath.Clean(o.UserFile)
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) != file || ev.Op&(fsnotify.Create|fsnotify.Write|fsnotify.Rename|fsnotify.Remove) == 0 {
					continue
				}
				cfg, err := config.Load(o)
				if err != nil {
					s.Log.Info("reading the changed settings", "err", err)
					continue
				}
				// The session is the UI goroutine's (the views read it).
				fyne.DoAndWait(func() { s.Config, s.Settings = cfg, cfg.Effective() })
				nl, ne := s.Lang(langFlag), environmentName(s)
				if nl == lang && ne == envName {
					continue
				}
				lang, envName = nl, ne
				cat := l10n.MustLoad(nl)
				fyne.Do(func() { rebuild(cat) })
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.Log.Info("watching the settings", "err", err)
			}
		}
	}()
}
