//go:build !linux

package tray

import (
	"context"
	"log/slog"
)

// Windows and macOS always have a notification area.
func waitForHost(context.Context, *slog.Logger) error { return nil }
