//go:build !linux

package tray

import (
	"context"
	"log/slog"
)

// Windows and macOS always have a notification area.
func waitForHost(context.Context, *slog.Logger) error { return nil }

// trayIconData is icon i as systray takes it on this platform.
func trayIconData(i Icon) []byte { return IconData(i) }
