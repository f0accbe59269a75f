//go:build darwin

package autostart

import (
	"context"
	"fmt"
)

// On macOS the agent starts from a LaunchAgent in ~/Library/LaunchAgents,
// which launchd loads at the next login (launchd.plist(5)). Install does
// not bootstrap it into the running session.

func darwinMethod(o Options) error {
	if o.Method != Auto && o.Method != LaunchAgent {
		return fmt.Errorf("%w: %q", ErrMethod, o.Method)
	}
	return nil
}

func installAutostart(_ context.Context, o Options, exe string) (*Entry, error) {
	if err := darwinMethod(o); err != nil {
		return nil, err
	}
	p, err := LaunchAgentPath(o.getenv)
	if err != nil {
		return nil, err
	}
	changed, err := writeIfChanged(p, LaunchAgentPlist(exe))
	if err != nil {
		return nil, err
	}
	return &Entry{Method: LaunchAgent, Path: p, Command: exe + " agent --foreground", Changed: changed}, nil
}

func uninstallAutostart(_ context.Context, o Options) ([]Entry, error) {
	if err := darwinMethod(o); err != nil {
		return nil, err
	}
	p, err := LaunchAgentPath(o.getenv)
	if err != nil {
		return nil, err
	}
	removed, err := removeIfExists(p)
	if err != nil || !removed {
		return nil, err
	}
	return []Entry{{Method: LaunchAgent, Path: p, Changed: true}}, nil
}

func autostartState(_ context.Context, o Options) ([]Entry, error) {
	p, err := LaunchAgentPath(o.getenv)
	if err != nil {
		return nil, err
	}
	if !exists(p) {
		return nil, nil
	}
	return []Entry{{Method: LaunchAgent, Path: p}}, nil
}
