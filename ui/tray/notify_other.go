//go:build !linux

package tray

import (
	"context"
	"log/slog"
)

// desktop on Windows and macOS: systray offers no notification API, so a
// message goes only to the log (the icon and tooltip show the state).
type desktop struct {
	log *slog.Logger
	act func(Action) // unused: no notifications, no actions
}

func newDesktop(log *slog.Logger) *desktop { return &desktop{log: log} }

func (d *desktop) close() {}

func (d *desktop) send(_ context.Context, m Message) {
	d.log.Info("desktop notification (not shown on this platform)", "summary", m.Summary)
}
