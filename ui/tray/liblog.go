package tray

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
)

// fyne.io/systray logs through the standard library's log package, with
// no hook of its own, and so straight to standard error. On Windows it
// logs even calls that worked: its Win32 wrappers return GetLastError's
// value after a call whose result it reads as failure, so every start
// printed "unable to addOrUpdateMenuItem: Success." once per item it
// changes after adding (systray_windows.go, addOrUpdateMenuItem). While
// the tray runs, the log package's output goes to the tray's logger
// instead: those known harmless lines at debug level, anything else at
// warn, so a real failure is still in the log file.

// libLogMu serialises routeLibraryLog's swaps of the global logger.
var libLogMu sync.Mutex

// routeLibraryLog sends the log package's output to l until the returned
// function gives it back. systray's goroutines can still log once its Run
// has returned (on the way out: "failed to update menu version: dbus:
// connection closed by user"), so what is given back is the old output
// behind a filter that keeps sending systray's lines to l, at debug level.
func routeLibraryLog(l *slog.Logger) (restore func()) {
	libLogMu.Lock()
	defer libLogMu.Unlock()
	w, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	if a, ok := w.(*afterTray); ok {
		w = a.next // a tray run before this one left its filter
	}
	log.SetOutput(&libLog{l: l})
	log.SetFlags(0)
	log.SetPrefix("")
	return func() {
		libLogMu.Lock()
		defer libLogMu.Unlock()
		log.SetOutput(&afterTray{next: w, l: l})
		log.SetFlags(flags)
		log.SetPrefix(prefix)
	}
}

// afterTray is the log package's output once the tray has stopped: a
// line of systray's (its messages start "systray") goes to the tray's
// logger at debug level, anything else to next as before.
type afterTray struct {
	next io.Writer
	l    *slog.Logger
}

func (w *afterTray) Write(p []byte) (int, error) {
	if !bytes.Contains(p, []byte("systray")) {
		return w.next.Write(p)
	}
	s := strings.TrimSpace(string(p))
	w.l.Log(context.Background(), slog.LevelDebug, "tray library, after the tray stopped", "said", s)
	return len(p), nil
}

// harmless reports whether a systray line is noise: a call made before
// the tray was ready, or a "failure" whose error is ERROR_SUCCESS.
func harmless(line string) bool {
	return strings.Contains(line, "tray not ready yet") ||
		strings.HasSuffix(line, ": Success.") ||
		strings.HasSuffix(line, "The operation completed successfully.")
}

// libLog is an io.Writer that logs each line written to it.
type libLog struct{ l *slog.Logger }

var _ io.Writer = (*libLog)(nil)

func (w *libLog) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" {
			continue
		}
		level := slog.LevelWarn
		if harmless(s) {
			level = slog.LevelDebug
		}
		w.l.Log(context.Background(), level, "tray library", "said", s)
	}
	return len(p), nil
}
