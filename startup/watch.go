package startup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"

	"github.com/sithseid/sithseid/config"
)

// WatchPreferences watches the user's preferences file (the one
// ConfigOptions names, else config.DefaultUserFile) and, each time it is
// written or replaced (the settings window replaces it), calls changed
// with the configuration loaded again, leniently, so that a role applies
// what the user changed in Inställningar at once rather than at its next
// start. It returns once the watch is in place, or an error when the
// file cannot be watched; the watch then runs in its own goroutine until
// ctx ends. A configuration that does not load is logged and skipped.
func WatchPreferences(ctx context.Context, getenv func(string) string, log *slog.Logger, changed func(*config.Config)) error {
	o := ConfigOptions(getenv)
	if o.UserFile == "" {
		f, err := config.DefaultUserFile()
		if err != nil {
			return err
		}
		o.UserFile = f
	}
	o.LenientUser = true
	// The directory is watched: the file is replaced, not rewritten.
	dir := filepath.Dir(o.UserFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return fmt.Errorf("watching %s: %w", dir, err)
	}
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
					log.Info("reading the changed settings", "err", err)
					continue
				}
				changed(cfg)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Info("watching the settings", "err", err)
			}
		}
	}()
	return nil
}
