//go:build linux

package autostart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// On Linux the agent starts from a systemd user unit when the session has
// a systemd user manager, else from an XDG autostart entry (read by GNOME,
// KDE, Xfce and most desktop sessions, also where systemd is not PID 1).
//
// The unit is written here, not by kardianos/service: v1.3.0 picks SysV
// (and refuses user services) where systemd is not PID 1, writes under
// os.UserHomeDir ignoring XDG_CONFIG_HOME, fails "Init already exists" on
// a second install, and its template says WantedBy=multi-user.target,
// which a user manager never reaches (FIELD-NOTES.md).

// userManagerStates are the answers of "systemctl --user
// is-system-running" from a reachable user manager (systemctl(1)).
var userManagerStates = map[string]bool{
	"initializing": true, "starting": true, "running": true,
	"degraded": true, "maintenance": true, "stopping": true,
}

// systemdUserManager reports whether a systemd user manager answers in this
// session, within the probe timeout.
func systemdUserManager(ctx context.Context, o Options) bool {
	out, _ := systemctl(ctx, o, "is-system-running")
	return userManagerStates[strings.TrimSpace(out)]
}

// systemctl runs "systemctl --user ARGS" with the probe timeout and the
// invocation's session variables.
func systemctl(ctx context.Context, o Options, args ...string) (string, error) {
	path, err := lookPath(o, "systemctl")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--user"}, args...)...)
	var env []string
	for _, k := range []string{"PATH", "HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME"} {
		if v := o.getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = env
	// A child that keeps the pipe open must not hold us past the timeout.
	cmd.WaitDelay = 200 * time.Millisecond
	out, err := cmd.Output()
	return string(out), err
}

// lookPath finds a program on the invocation's PATH (os.Getenv's when
// the invocation has none).
func lookPath(o Options, name string) (string, error) {
	path := o.getenv("PATH")
	if path == "" {
		return exec.LookPath(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

func (o Options) linuxMethod(ctx context.Context) (Method, error) {
	switch o.Method {
	case Systemd, XDG:
		return o.Method, nil
	case Auto:
		if systemdUserManager(ctx, o) {
			return Systemd, nil
		}
		return XDG, nil
	}
	return "", fmt.Errorf("%w: %q", ErrMethod, o.Method)
}

// systemdPaths are the unit and its "wants" link, the one "systemctl
// --user enable" makes for WantedBy=default.target.
func systemdPaths(o Options) (unit, wants string, err error) {
	dir, err := SystemdUnitDir(o.getenv)
	if err != nil {
		return "", "", err
	}
	return filepath.Join(dir, SystemdUnitName), filepath.Join(dir, "default.target.wants", SystemdUnitName), nil
}

func xdgPath(o Options) (string, error) {
	dir, err := XDGAutostartDir(o.getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, XDGAutostartName), nil
}

func installAutostart(ctx context.Context, o Options, exe string) (*Entry, error) {
	m, err := o.linuxMethod(ctx)
	if err != nil {
		return nil, err
	}
	if m == XDG {
		p, err := xdgPath(o)
		if err != nil {
			return nil, err
		}
		changed, err := writeIfChanged(p, XDGDesktopEntry(exe))
		if err != nil {
			return nil, err
		}
		return &Entry{Method: m, Path: p, Command: desktopExecQuote(exe) + " agent", Changed: changed}, nil
	}
	unit, wants, err := systemdPaths(o)
	if err != nil {
		return nil, err
	}
	changed, err := writeIfChanged(unit, SystemdUnit(exe))
	if err != nil {
		return nil, err
	}
	// Enable as "systemctl --user enable" would: the link in
	// default.target.wants. Made here so that it works (and uninstall
	// removes exactly it) also while no user manager runs.
	if target, err := filepath.EvalSymlinks(wants); err != nil || target != unit {
		if err := mkdirAll(filepath.Dir(wants)); err != nil {
			return nil, err
		}
		if _, err := removeIfExists(wants); err != nil {
			return nil, err
		}
		if err := symlink(unit, wants); err != nil {
			return nil, err
		}
		changed = true
	}
	e := &Entry{Method: m, Path: unit, Extra: []string{wants}, Command: systemdQuote(exe) + " agent --foreground", Changed: changed}
	if systemdUserManager(ctx, o) {
		_, err := systemctl(ctx, o, "daemon-reload")
		e.Activated = err == nil
	}
	return e, nil
}

func uninstallAutostart(ctx context.Context, o Options) ([]Entry, error) {
	var out []Entry
	if o.Method == Auto || o.Method == Systemd {
		unit, wants, err := systemdPaths(o)
		if err != nil {
			return nil, err
		}
		w, err := removeIfExists(wants)
		if err != nil {
			return nil, err
		}
		u, err := removeIfExists(unit)
		if err != nil {
			return nil, err
		}
		if w || u {
			e := Entry{Method: Systemd, Path: unit, Extra: []string{wants}, Changed: true}
			if systemdUserManager(ctx, o) {
				_, err := systemctl(ctx, o, "daemon-reload")
				e.Activated = err == nil
			}
			out = append(out, e)
		}
	}
	if o.Method == Auto || o.Method == XDG {
		p, err := xdgPath(o)
		if err != nil {
			return nil, err
		}
		removed, err := removeIfExists(p)
		if err != nil {
			return nil, err
		}
		if removed {
			out = append(out, Entry{Method: XDG, Path: p, Changed: true})
		}
	}
	if o.Method != Auto && o.Method != Systemd && o.Method != XDG {
		return nil, fmt.Errorf("%w: %q", ErrMethod, o.Method)
	}
	return out, nil
}

func autostartState(ctx context.Context, o Options) ([]Entry, error) {
	var out []Entry
	unit, wants, err := systemdPaths(o)
	if err != nil {
		return nil, err
	}
	if exists(unit) {
		e := Entry{Method: Systemd, Path: unit}
		if exists(wants) {
			e.Extra = []string{wants}
		}
		out = append(out, e)
	}
	p, err := xdgPath(o)
	if err != nil {
		return nil, err
	}
	if exists(p) {
		out = append(out, Entry{Method: XDG, Path: p})
	}
	return out, nil
}
