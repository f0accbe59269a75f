package autostart

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// An executable path with characters every format must escape.
const oddExe = `/opt/SITHS eID/bin/sith"s$eid%1\x`

func autostartEnv(t *testing.T) (home string, getenv func(string) string) {
	t.Helper()
	home = t.TempDir()
	env := map[string]string{"HOME": home, "PATH": os.Getenv("PATH")}
	return home, func(k string) string { return env[k] }
}

// The unit starts "EXE agent --foreground" from default.target (the user
// manager's; multi-user.target never starts in a user session) and
// systemd-analyze accepts it.
func TestSystemdUnit(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := string(SystemdUnit(exe))
	for _, want := range []string{
		"\n[Install]\nWantedBy=default.target\n",
		"\nExecStart=\"" + exe + "\" agent --foreground\n",
		"\nRestart=on-failure\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "multi-user.target") {
		t.Error("unit names multi-user.target")
	}
	if got := systemdQuote(oddExe); got != `"/opt/SITHS eID/bin/sith\"s$$eid%%1\\x"` {
		t.Errorf("systemdQuote: %s", got)
	}
	sa := testenv.LookPath(t, "systemd-analyze")
	dir := t.TempDir()
	p := filepath.Join(dir, SystemdUnitName)
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	// --user: the user manager's view (default.target, user search path);
	// it needs a runtime directory, not a running manager.
	run := t.TempDir()
	cmd := exec.Command(sa, "verify", "--user", p)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+run, "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	t.Logf("systemd-analyze verify --user: %v %s", err, out)
	if err != nil || bytes.Contains(out, []byte(SystemdUnitName)) {
		t.Errorf("systemd-analyze verify --user refused the unit: %v\n%s", err, out)
	}
}

// The desktop entry quotes Exec per the Desktop Entry Specification and
// desktop-file-validate accepts it.
func TestXDGDesktopEntry(t *testing.T) {
	if got := desktopExecQuote("/usr/bin/sithseid"); got != "/usr/bin/sithseid" {
		t.Errorf("plain path quoted: %s", got)
	}
	// " $ \ escaped with a backslash inside double quotes, then every
	// backslash doubled by the string type; % doubled.
	if got := desktopExecQuote(oddExe); got != `"/opt/SITHS eID/bin/sith\\"s\\$eid%%1\\\\x"` {
		t.Errorf("desktopExecQuote: %s", got)
	}
	for _, exe := range []string{"/usr/bin/sithseid", oddExe} {
		entry := string(XDGDesktopEntry(exe))
		for _, want := range []string{"[Desktop Entry]\n", "\nExec=" + desktopExecQuote(exe) + " agent\n", "\nX-GNOME-Autostart-enabled=true\n", "\nNoDisplay=true\n", "\nName=", "\nComment=", "\nIcon="} {
			if !strings.Contains(entry, want) {
				t.Errorf("entry lacks %q:\n%s", want, entry)
			}
		}
		validate(t, entry)
	}
}

func validate(t *testing.T, entry string) {
	t.Helper()
	dfv := testenv.LookPath(t, "desktop-file-validate")
	p := filepath.Join(t.TempDir(), XDGAutostartName)
	if err := os.WriteFile(p, []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(dfv, p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("desktop-file-validate: %v\n%s\n%s", err, out, entry)
	}
}

// The plist parses back as XML with the program, its arguments, RunAtLoad
// and KeepAlive only after a failure.
func TestLaunchAgentPlist(t *testing.T) {
	exe := `/Applications/SITHS eID.app/Contents/MacOS/sithseid&<x>`
	type dict struct {
		Items []struct {
			XMLName xml.Name
			Text    string   `xml:",chardata"`
			Strings []string `xml:"string"`
			Inner   []struct {
				XMLName xml.Name
				Text    string `xml:",chardata"`
			} `xml:",any"`
		} `xml:",any"`
	}
	var doc struct {
		XMLName xml.Name `xml:"plist"`
		Dict    dict     `xml:"dict"`
	}
	if err := xml.Unmarshal(LaunchAgentPlist(exe), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var key string
	for _, it := range doc.Dict.Items {
		switch it.XMLName.Local {
		case "key":
			key = it.Text
			continue
		case "array":
			got[key] = strings.Join(it.Strings, "|")
		case "dict":
			var s []string
			for _, in := range it.Inner {
				s = append(s, in.XMLName.Local+":"+in.Text)
			}
			got[key] = strings.Join(s, "|")
		default:
			got[key] = it.XMLName.Local + ":" + it.Text
		}
	}
	want := map[string]string{
		"Label":            "string:" + LaunchAgentLabel,
		"ProgramArguments": exe + "|agent|--foreground",
		"RunAtLoad":        "true:",
		"KeepAlive":        "key:SuccessfulExit|false:",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %q)", k, got[k], v, got)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// XDG install in a temporary HOME: the entry, idempotence, status,
// uninstall removing exactly it; XDG_CONFIG_HOME moves it.
func TestAutostartXDG(t *testing.T) {
	testenv.GOOS(t, "linux")
	home, getenv := autostartEnv(t)
	ctx := context.Background()
	exe := "/usr/bin/sithseid"
	o := Options{Method: XDG, Executable: exe, Getenv: getenv}
	e, err := Install(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, ".config", "autostart", XDGAutostartName)
	if e.Method != XDG || e.Path != p || !e.Changed {
		t.Fatalf("install: %+v", e)
	}
	if got := readFile(t, p); got != string(XDGDesktopEntry(exe)) {
		t.Fatalf("entry:\n%s", got)
	}
	fi, _ := os.Stat(p)
	before := fi.ModTime()
	if e, err = Install(ctx, o); err != nil || e.Changed {
		t.Fatalf("second install: %+v %v", e, err)
	}
	if fi, _ = os.Stat(p); !fi.ModTime().Equal(before) {
		t.Error("second install rewrote the entry")
	}
	st, err := State(ctx, Options{Getenv: getenv})
	if err != nil || len(st) != 1 || st[0].Method != XDG || st[0].Path != p {
		t.Fatalf("status: %+v %v", st, err)
	}
	// Another program's entry in the same directory stays.
	other := filepath.Join(filepath.Dir(p), "other.desktop")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	gone, err := Uninstall(ctx, Options{Getenv: getenv})
	if err != nil || len(gone) != 1 || gone[0].Path != p {
		t.Fatalf("uninstall: %+v %v", gone, err)
	}
	if exists(p) || !exists(other) {
		t.Fatal("uninstall removed the wrong files")
	}
	if gone, err = Uninstall(ctx, Options{Getenv: getenv}); err != nil || len(gone) != 0 {
		t.Fatalf("second uninstall: %+v %v", gone, err)
	}

	cfg := t.TempDir()
	o.Getenv = func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return cfg
		}
		return getenv(k)
	}
	if e, err = Install(ctx, o); err != nil || e.Path != filepath.Join(cfg, "autostart", XDGAutostartName) {
		t.Fatalf("install with XDG_CONFIG_HOME: %+v %v", e, err)
	}
}

// The systemd unit and its default.target.wants link, written without a
// user manager; uninstall removes both and nothing else.
func TestAutostartSystemd(t *testing.T) {
	testenv.GOOS(t, "linux")
	home, getenv := autostartEnv(t)
	ctx := context.Background()
	o := Options{Method: Systemd, Executable: "/usr/bin/sithseid", Getenv: getenv}
	e, err := Install(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, ".config", "systemd", "user")
	unit, wants := filepath.Join(dir, SystemdUnitName), filepath.Join(dir, "default.target.wants", SystemdUnitName)
	if e.Path != unit || len(e.Extra) != 1 || e.Extra[0] != wants || !e.Changed {
		t.Fatalf("install: %+v", e)
	}
	if got := readFile(t, unit); got != string(SystemdUnit("/usr/bin/sithseid")) {
		t.Fatalf("unit:\n%s", got)
	}
	if target, err := os.Readlink(wants); err != nil || target != unit {
		t.Fatalf("wants link: %q %v", target, err)
	}
	if e, err = Install(ctx, o); err != nil || e.Changed {
		t.Fatalf("second install: %+v %v", e, err)
	}
	// A new binary path rewrites the unit.
	o.Executable = "/opt/sithseid/sithseid"
	if e, err = Install(ctx, o); err != nil || !e.Changed || !strings.Contains(readFile(t, unit), `ExecStart="/opt/sithseid/sithseid" agent --foreground`) {
		t.Fatalf("install with a new path: %+v %v", e, err)
	}
	st, err := State(ctx, Options{Getenv: getenv})
	if err != nil || len(st) != 1 || st[0].Method != Systemd {
		t.Fatalf("status: %+v %v", st, err)
	}
	gone, err := Uninstall(ctx, Options{Method: Systemd, Getenv: getenv})
	if err != nil || len(gone) != 1 {
		t.Fatalf("uninstall: %+v %v", gone, err)
	}
	if exists(unit) || exists(wants) {
		t.Fatal("uninstall left the unit or its link")
	}
}

func TestAutostartErrors(t *testing.T) {
	ctx := context.Background()
	_, getenv := autostartEnv(t)
	if _, err := Install(ctx, Options{Method: "upstart", Executable: "/x", Getenv: getenv}); err == nil {
		t.Error("unknown method accepted")
	}
	if _, err := Install(ctx, Options{Executable: "relative/sithseid", Getenv: getenv}); err == nil {
		t.Error("relative executable accepted")
	}
	noHome := func(string) string { return "" }
	if _, err := State(ctx, Options{Getenv: noHome}); err != ErrNoHome {
		t.Errorf("no HOME: %v", err)
	}
}

// fakeSystemctl puts a "systemctl" on a PATH of its own that answers
// is-system-running with state (after sleeping delay seconds) and logs its
// other calls.
func fakeSystemctl(t *testing.T, state string, delay int) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	script := "#!/bin/sh\n" +
		"case \"$2\" in\n" +
		"is-system-running) sleep " + strconv.Itoa(delay) + "; echo " + state + "; [ " + state + " = running ];;\n" +
		"*) echo \"$@\" >> " + log + ";;\n" +
		"esac\n"
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + "/usr/bin:/bin", log
}

// Without --method the probe decides: a user manager that answers gets the
// unit (and a daemon-reload); "offline", no systemctl or no answer within
// the timeout get the XDG entry.
func TestAutostartProbe(t *testing.T) {
	testenv.GOOS(t, "linux")
	ctx := context.Background()
	for _, c := range []struct {
		state string
		delay int
		want  Method
	}{
		{"running", 0, Systemd},
		{"degraded", 0, Systemd},
		{"offline", 0, XDG},
		{"running", 5, XDG}, // beyond the probe timeout
		{"", -1, XDG},       // no systemctl at all
	} {
		home := t.TempDir()
		path, log := "/nonexistent", ""
		if c.delay >= 0 {
			path, log = fakeSystemctl(t, c.state, c.delay)
		}
		getenv := func(k string) string {
			return map[string]string{"HOME": home, "PATH": path}[k]
		}
		start := time.Now()
		e, err := Install(ctx, Options{Executable: "/usr/bin/sithseid", Getenv: getenv, ProbeTimeout: time.Second})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if e.Method != c.want {
			t.Errorf("%+v: method %s", c, e.Method)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%+v: install took %v", c, d)
		}
		if c.want == Systemd {
			calls, _ := os.ReadFile(log)
			if !e.Activated || !strings.Contains(string(calls), "--user daemon-reload") {
				t.Errorf("%+v: activated %v, calls %q", c, e.Activated, calls)
			}
		}
	}
}
