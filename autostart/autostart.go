// Package autostart starts the agent with the user's session, per user and
// per OS: a systemd user unit or an XDG autostart entry, a LaunchAgent, the
// Run key.
package autostart

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sithseid/sithseid/internal/atomicfile"
)

// Autostart: the agent starts with the user's session, per user, never as
// a system service — it must run in the session to see the smart cards
// redirected into it (DESIGN.md, "Processes"). Linux: a systemd user unit
// (WantedBy=default.target) or, where no systemd user manager runs, an XDG
// autostart entry; macOS: a LaunchAgent; Windows: the per-user Run key
// (the MSI sets the machine-wide one).

// AutostartMethod names how the agent is started with the session.
type Method string

// The autostart methods.
const (
	Auto        Method = ""            // the platform's best (Linux: probe)
	Systemd     Method = "systemd"     // Linux systemd user unit
	XDG         Method = "xdg"         // Linux XDG autostart entry
	LaunchAgent Method = "launchagent" // macOS LaunchAgent
	RunKey      Method = "runkey"      // Windows HKCU Run value
)

// Names of what autostart writes.
const (
	// SystemdUnitName is the systemd user unit's file name.
	SystemdUnitName = "sithseid-agent.service"
	// XDGAutostartName is the XDG autostart entry's file name.
	XDGAutostartName = "sithseid-agent.desktop"
	// LaunchAgentLabel is the LaunchAgent's label (and file name without .plist).
	LaunchAgentLabel = "io.github.sithseid.desktop.agent"
	// RunKeyValue is the value name under HKCU\...\CurrentVersion\Run.
	RunKeyValue = "SITHS eID"
	// RunKeyPath is the per-user Run key, as shown to people.
	RunKeyPath = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
)

// ErrAutostartMethod: the method asked for does not exist on this platform.
var ErrMethod = errors.New("autostart method not available on this platform")

// ErrNoHome: neither HOME nor (Linux) XDG_CONFIG_HOME says where the
// user's configuration lives.
var ErrNoHome = errors.New("no home directory (HOME is not set)")

// AutostartOptions configures InstallAutostart, UninstallAutostart and
// AutostartState. Paths come from Getenv (HOME, XDG_CONFIG_HOME) so tests
// use temporary directories.
type Options struct {
	// Method forces a method; AutostartAuto picks the platform's.
	Method Method
	// Executable is the absolute path the entry starts; "" means this
	// binary (os.Executable, symlinks resolved).
	Executable string
	// Getenv reads the invocation's environment; nil means os.Getenv.
	Getenv func(string) string
	// ProbeTimeout bounds the probe for a systemd user manager (and each
	// systemctl call); 0 means 3 s.
	ProbeTimeout time.Duration
}

func (o Options) getenv(k string) string {
	if o.Getenv == nil {
		return os.Getenv(k)
	}
	return o.Getenv(k)
}

func (o Options) timeout() time.Duration {
	if o.ProbeTimeout <= 0 {
		return 3 * time.Second
	}
	return o.ProbeTimeout
}

// executable returns the absolute path to start.
func (o Options) executable() (string, error) {
	exe := o.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("autostart: this program's path: %w", err)
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
	}
	if !filepath.IsAbs(exe) {
		return "", fmt.Errorf("autostart: executable %q is not an absolute path", exe)
	}
	return exe, nil
}

// AutostartEntry is one installed (or just written or removed) autostart
// entry.
type Entry struct {
	Method Method `json:"method"`
	// Path is the file written, or the registry value on Windows.
	Path string `json:"path"`
	// Extra are further files of the entry (the systemd "wants" link).
	Extra []string `json:"extra,omitempty"`
	// Command is what the entry runs, as written.
	Command string `json:"command,omitempty"`
	// Changed: install wrote or uninstall removed something (false when it
	// was already so).
	Changed bool `json:"changed"`
	// MachineWide: the entry is for every user of the machine (Windows:
	// the MSI's HKLM Run value), not this user's own; install and
	// uninstall never touch it.
	MachineWide bool `json:"machineWide,omitempty"`
	// Disabled: the entry is there but turned off (Windows: Task
	// Manager's Startup apps, StartupApproved\Run), so it starts nothing.
	Disabled bool `json:"disabled,omitempty"`
	// InForce: this is the entry that starts the agent at logon (Windows,
	// where a machine-wide and a per-user entry can both be there).
	InForce bool `json:"inForce,omitempty"`
	// Activated: the session's service manager took note now (systemd:
	// daemon-reload ran); otherwise the entry applies from the next login.
	Activated bool `json:"activated"`
}

// writeIfChanged writes data to path (atomically, mode 0644) unless it
// already holds exactly that; it reports whether it wrote.
// A link planted at path is refused and left (attack review, files): the
// rename below would replace it, and it is not ours to replace.
func writeIfChanged(path string, data []byte) (bool, error) {
	if err := refuseSymlink(path); err != nil {
		return false, err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("autostart: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, fmt.Errorf("autostart: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	if err := refuseSymlink(path); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return true, nil
}

func refuseSymlink(path string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("autostart: %s: %w", path, atomicfile.ErrSymlink)
	}
	return nil
}

// removeIfExists removes path; it reports whether there was one.
func removeIfExists(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return true, nil
}

// exists reports whether path names a file (a symlink counts, even dangling).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// configHome is $XDG_CONFIG_HOME when absolute, else $HOME/.config (XDG
// Base Directory Specification 0.8).
func configHome(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	home := getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		return "", ErrNoHome
	}
	return filepath.Join(home, ".config"), nil
}

// SystemdUnitDir is the per-user unit directory systemd reads first:
// $XDG_CONFIG_HOME/systemd/user (systemd.unit(5), "User Unit Search Path").
func SystemdUnitDir(getenv func(string) string) (string, error) {
	c, err := configHome(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "systemd", "user"), nil
}

// XDGAutostartDir is $XDG_CONFIG_HOME/autostart (Desktop Application
// Autostart Specification 0.5).
func XDGAutostartDir(getenv func(string) string) (string, error) {
	c, err := configHome(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "autostart"), nil
}

// LaunchAgentPath is ~/Library/LaunchAgents/LABEL.plist (launchd.plist(5)).
func LaunchAgentPath(getenv func(string) string) (string, error) {
	home := getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		return "", ErrNoHome
	}
	return filepath.Join(home, "Library", "LaunchAgents", LaunchAgentLabel+".plist"), nil
}

// systemdQuote quotes one ExecStart word: double quotes with \ and "
// escaped (systemd.service(5), "Command lines"), and the specifier % and
// variable $ characters doubled (systemd.unit(5) "Specifiers";
// systemd.service(5) "$$" for a literal dollar).
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`, `$`, `$$`)
	return `"` + r.Replace(s) + `"`
}

// SystemdUnit is the user unit that runs "EXE agent --foreground" in the
// user's session. WantedBy=default.target: the user manager's default
// target (systemd.special(7)); kardianos/service's multi-user.target never
// starts in a user session. Restart=on-failure brings it back after a
// crash, not after "sithseid agent" was stopped on purpose, and not when
// another agent already runs in the session (exit 15, cli.ExitAgentRunning:
// an XDG autostart entry started it first).
func SystemdUnit(exe string) []byte {
	return []byte(`[Unit]
Description=SITHS eID agent (smart card and login, per user session)
Documentation=https://github.com/sithseid/sithseid

[Service]
Type=simple
ExecStart=` + systemdQuote(exe) + ` agent --foreground
Restart=on-failure
RestartPreventExitStatus=15
RestartSec=5

[Install]
WantedBy=default.target
`)
}

// desktopExecQuote quotes one Exec argument when it needs quoting: inside
// double quotes ", `, $ and \ are escaped with a backslash, and "%" is
// written "%%" (Desktop Entry Specification 1.4, "The Exec key"); then the
// string type's own escape doubles every backslash ("Possible value
// types").
func desktopExecQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if !strings.ContainsAny(s, " \t\n\"'\\><~|&;$*?#()`") {
		return s
	}
	r := strings.NewReplacer(`"`, `\"`, "`", "\\`", `$`, `\$`, `\`, `\\`)
	q := `"` + r.Replace(s) + `"`
	return strings.ReplaceAll(q, `\`, `\\`)
}

// XDGDesktopEntry is the autostart entry running "EXE agent" (which starts
// the agent detached and returns) at login (Desktop Application Autostart
// Specification; Desktop Entry Specification 1.4).
func XDGDesktopEntry(exe string) []byte {
	return []byte(`[Desktop Entry]
Type=Application
Version=1.4
Name=SITHS eID
Name[sv]=SITHS eID
Comment=Smart card and login for Swedish healthcare (runs in the background)
Comment[sv]=Smartkort och inloggning för svensk vård (körs i bakgrunden)
Icon=sithseid
Exec=` + desktopExecQuote(exe) + ` agent
Terminal=false
NoDisplay=true
X-GNOME-Autostart-enabled=true
`)
}

// LaunchAgentPlist is the LaunchAgent that runs "EXE agent --foreground"
// at login (RunAtLoad) and again after a crash (KeepAlive SuccessfulExit
// false: not after a clean exit) (launchd.plist(5)).
func LaunchAgentPlist(exe string) []byte {
	var e bytes.Buffer
	_ = xml.EscapeText(&e, []byte(exe))
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + LaunchAgentLabel + `</string>
	<key>ProgramArguments</key>
	<array>
		<string>` + e.String() + `</string>
		<string>agent</string>
		<string>--foreground</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Interactive</string>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
</dict>
</plist>
`)
}

// RunKeyCommand is the Run value's data: the quoted program and "agent".
func RunKeyCommand(exe string) string { return `"` + exe + `" agent` }

// InstallAutostart installs the agent's autostart for this user. It is
// idempotent: a second call rewrites nothing that is already right.
func Install(ctx context.Context, o Options) (*Entry, error) {
	exe, err := o.executable()
	if err != nil {
		return nil, err
	}
	return installAutostart(ctx, o, exe)
}

// UninstallAutostart removes exactly what InstallAutostart wrote (for a
// forced method that method's entry; else every method of the platform).
// It does not stop a running agent.
func Uninstall(ctx context.Context, o Options) ([]Entry, error) {
	return uninstallAutostart(ctx, o)
}

// AutostartState lists the autostart entries installed for this user.
func State(ctx context.Context, o Options) ([]Entry, error) {
	return autostartState(ctx, o)
}

func mkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

func symlink(target, link string) error {
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}
