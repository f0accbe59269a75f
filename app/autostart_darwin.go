//go:build darwin

package app

import (
	"context"
	"fmt"
)

// On macOS the agent starts from a LaunchAgent in ~/Library/LaunchAgents,
// which launchd loads at the next login (launchd.plist(5)). Install does
// not bootstrap it into the running session.

func darwinMethod(o AutostartOptions) error {
	if o.Method != AutostartAuto && o.Method != AutostartLaunchAgent {
		return fmt.Errorf("%w: %q", ErrAutostartMethod, o.Method)
	}
	return nil
}

func installAutostart(_ context.Context, o AutostartOptions, exe string) (*AutostartEntry, error) {
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
	return &AutostartEntry{Method: AutostartLaunchAgent, Path: p, Command: exe + " agent --foreground", Changed: changed}, nil
}

func uninstallAutostart(_ context.Context, o AutostartOptions) ([]AutostartEntry, error) {
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
	return []AutostartEntry{{Method: AutostartLaunchAgent, Path: p, Changed: true}}, nil
}

func autostartState(_ context.Context, o AutostartOptions) ([]AutostartEntry, error) {
	p, err := LaunchAgentPath(o.getenv)
	if err != nil {
		return nil, err
	}
	if !exists(p) {
		return nil, nil
	}
	return []AutostartEntry{{Method: AutostartLaunchAgent, Path: p}}, nil
}
