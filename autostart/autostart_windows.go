//go:build windows

package autostart

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// On Windows the agent starts from the per-user Run key
// HKCU\Software\Microsoft\Windows\CurrentVersion\Run (value "SITHS eID"),
// which Explorer runs at logon in the user's session. The MSI sets the
// machine-wide HKLM one; this one is for a per-user installation.

const runKey = `Software\Microsoft\Windows\CurrentVersion\Run`

func windowsMethod(o Options) error {
	if o.Method != Auto && o.Method != RunKey {
		return fmt.Errorf("%w: %q", ErrMethod, o.Method)
	}
	return nil
}

func installAutostart(_ context.Context, o Options, exe string) (*Entry, error) {
	if err := windowsMethod(o); err != nil {
		return nil, err
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return nil, fmt.Errorf("autostart: %s: %w", RunKeyPath, err)
	}
	defer k.Close()
	cmd := RunKeyCommand(exe)
	e := &Entry{Method: RunKey, Path: RunKeyPath + `\` + RunKeyValue, Command: cmd}
	if old, _, err := k.GetStringValue(RunKeyValue); err == nil && old == cmd {
		return e, nil
	}
	if err := k.SetStringValue(RunKeyValue, cmd); err != nil {
		return nil, fmt.Errorf("autostart: %s: %w", RunKeyPath, err)
	}
	e.Changed = true
	return e, nil
}

func uninstallAutostart(_ context.Context, o Options) ([]Entry, error) {
	if err := windowsMethod(o); err != nil {
		return nil, err
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("autostart: %s: %w", RunKeyPath, err)
	}
	defer k.Close()
	err = k.DeleteValue(RunKeyValue)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("autostart: %s: %w", RunKeyPath, err)
	}
	return []Entry{{Method: RunKey, Path: RunKeyPath + `\` + RunKeyValue, Changed: true}}, nil
}

func autostartState(_ context.Context, _ Options) ([]Entry, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("autostart: %s: %w", RunKeyPath, err)
	}
	defer k.Close()
	cmd, _, err := k.GetStringValue(RunKeyValue)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("autostart: %s: %w", RunKeyPath, err)
	}
	return []Entry{{Method: RunKey, Path: RunKeyPath + `\` + RunKeyValue, Command: cmd}}, nil
}
