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
	return runKeyEntries(registryRunKeys{})
}

// registryRunKeys reads the Run keys of HKCU and HKLM (its 64-bit view,
// where the MSI writes) and their StartupApproved switches.
type registryRunKeys struct{}

const approvedKey = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`

func (registryRunKeys) open(machine bool, path string) (registry.Key, error) {
	if machine {
		return registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE|registry.WOW64_64KEY)
	}
	return registry.OpenKey(registry.CURRENT_USER, path, registry.QUERY_VALUE)
}

func (r registryRunKeys) Run(machine bool) (string, bool, error) {
	shown := RunKeyPath
	if machine {
		shown = MachineRunKeyPath
	}
	k, err := r.open(machine, runKey)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		if machine {
			return "", false, nil // unreadable for this user: as if absent
		}
		return "", false, fmt.Errorf("autostart: %s: %w", shown, err)
	}
	defer k.Close()
	cmd, _, err := k.GetStringValue(RunKeyValue)
	if errors.Is(err, registry.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("autostart: %s: %w", shown, err)
	}
	return cmd, true, nil
}

func (r registryRunKeys) Approved(machine bool) []byte {
	k, err := r.open(machine, approvedKey)
	if err != nil {
		return nil
	}
	defer k.Close()
	b, _, err := k.GetBinaryValue(RunKeyValue)
	if err != nil {
		return nil
	}
	return b
}
