package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// serviceEnv is a temporary HOME and runtime directory for "sithseid
// service": nothing of this machine's user is touched.
type serviceEnv struct {
	home, run string
	env       map[string]string
}

func newServiceEnv(t *testing.T) *serviceEnv {
	t.Helper()
	s := &serviceEnv{home: t.TempDir(), run: t.TempDir()}
	s.env = map[string]string{"HOME": s.home, "XDG_RUNTIME_DIR": s.run, "PATH": os.Getenv("PATH")}
	return s
}

func (s *serviceEnv) run_(t *testing.T, lang string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"LANG": lang}
	for k, v := range s.env {
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := cli.Run(ctx, cli.Env{
		Args:   append([]string{"service"}, args...),
		Stdout: &out, Stderr: &errb,
		Getenv:  func(k string) string { return env[k] },
		Version: "test",
	})
	return result{out.String(), errb.String(), code}
}

func (s *serviceEnv) sv(t *testing.T, args ...string) result {
	t.Helper()
	return s.run_(t, "sv_SE.UTF-8", args...)
}

func (s *serviceEnv) en(t *testing.T, args ...string) result {
	t.Helper()
	return s.run_(t, "en_US.UTF-8", args...)
}

func serviceStatusJSON(t *testing.T, r result) (st struct {
	Installed bool              `json:"installed"`
	Entries   []autostart.Entry `json:"entries"`
	Running   bool              `json:"running"`
	PID       int               `json:"pid"`
}) {
	t.Helper()
	wantCode(t, r, cli.ExitOK)
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return st
}

// XDG autostart through the CLI: install (twice), status in both
// languages and as JSON, with and without a running agent, uninstall
// (twice).
func TestServiceXDG(t *testing.T) {
	s := newServiceEnv(t)
	entry := filepath.Join(s.home, ".config", "autostart", autostart.XDGAutostartName)

	r := s.sv(t, "install", "--method", "xdg")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Autostart installerad (XDG-autostartpost): "+entry)
	wantIn(t, r.stdout, "Starta det nu med: sithseid agent")
	b, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	var execLine string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Exec=") {
			execLine = strings.TrimPrefix(l, "Exec=")
		}
	}
	exe := strings.TrimSuffix(execLine, " agent")
	if !filepath.IsAbs(exe) || exe == execLine {
		t.Fatalf("Exec=%s: not an absolute path followed by agent", execLine)
	}
	if fi, err := os.Stat(exe); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("Exec names %s, not an executable: %v", exe, err)
	}
	if dfv, err := exec.LookPath("desktop-file-validate"); err == nil {
		if out, err := exec.Command(dfv, entry).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Fatalf("desktop-file-validate: %v %s", err, out)
		}
	} else {
		t.Log("desktop-file-validate not installed")
	}

	r = s.en(t, "install", "--method", "xdg")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Autostart was already installed (XDG autostart entry): "+entry)

	st := serviceStatusJSON(t, s.sv(t, "status", "--json"))
	if !st.Installed || len(st.Entries) != 1 || st.Entries[0].Method != autostart.XDG || st.Entries[0].Path != entry || st.Running {
		t.Fatalf("status --json: %+v", st)
	}
	r = s.en(t, "status")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Autostart: XDG autostart entry, "+entry)
	wantIn(t, r.stdout, "SITHS eID is not running in this session.")

	// With the agent running in this (temporary) session, status says so.
	pid := startAgent(t, s.run)
	st = serviceStatusJSON(t, s.en(t, "status", "--json"))
	if !st.Running || st.PID != pid {
		t.Fatalf("status with agent %d: %+v", pid, st)
	}
	r = s.sv(t, "status")
	wantIn(t, r.stdout, "SITHS eID körs i den här sessionen (process "+itoa(pid)+").")

	r = s.sv(t, "uninstall")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Autostart borttagen (XDG-autostartpost): "+entry)
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatalf("entry still there: %v", err)
	}
	r = s.en(t, "uninstall")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Autostart is not installed.")
	st = serviceStatusJSON(t, s.en(t, "status", "--json"))
	if st.Installed || len(st.Entries) != 0 {
		t.Fatalf("status after uninstall: %+v", st)
	}
}

// startAgent runs "sithseid agent" (this test binary) with the runtime
// directory run and returns its pid; the agent is stopped at cleanup.
func startAgent(t *testing.T, run string) int {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv(envMain, "1")
	ctx := context.Background()
	var errb bytes.Buffer
	if code := sithseidMain(ctx, cli.Env{Args: []string{"agent"}, Stdout: &errb, Stderr: &errb, Getenv: os.Getenv}); code != cli.ExitOK {
		t.Fatalf("sithseid agent: exit %d: %s", code, errb.String())
	}
	c, err := localapi.DialAddress(ctx, filepath.Join(run, "sithseid", "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Ping(ctx)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProcess(info.PID) })
	return info.PID
}

// stopProcess sends SIGTERM, waits up to 5 s, then SIGKILL.
func stopProcess(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// The systemd user unit through the CLI (forced: this machine has no user
// manager), as JSON.
func TestServiceSystemd(t *testing.T) {
	s := newServiceEnv(t)
	cfg := t.TempDir()
	s.env["XDG_CONFIG_HOME"] = cfg
	unit := filepath.Join(cfg, "systemd", "user", autostart.SystemdUnitName)
	r := s.en(t, "install", "--method", "systemd", "--json")
	wantCode(t, r, cli.ExitOK)
	var e autostart.Entry
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if e.Method != autostart.Systemd || e.Path != unit || !e.Changed {
		t.Fatalf("install: %+v", e)
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nWantedBy=default.target\n") || !strings.Contains(string(b), " agent --foreground\n") {
		t.Fatalf("unit:\n%s", b)
	}
	r = s.sv(t, "status")
	wantIn(t, r.stdout, "Autostart: systemd-användarenhet, "+unit)
	r = s.en(t, "uninstall", "--method", "systemd")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Autostart removed (systemd user unit): "+unit)
	if entries, _ := os.ReadDir(filepath.Join(cfg, "systemd", "user", "default.target.wants")); len(entries) != 0 {
		t.Fatalf("wants link left: %v", entries)
	}
}

// Usage errors: exit 2 and the service usage, in Swedish and English.
func TestServiceUsage(t *testing.T) {
	s := newServiceEnv(t)
	for _, args := range [][]string{{}, {"start"}, {"install", "--method", "upstart"}, {"status", "extra"}} {
		r := s.sv(t, args...)
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "Användning: sithseid service install|uninstall|status")
		r = s.en(t, args...)
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "Usage: sithseid service install|uninstall|status")
	}
	// A method of another platform.
	r := s.sv(t, "install", "--method", "launchagent")
	wantCode(t, r, cli.ExitUsage)
	wantIn(t, r.stderr, `Autostartmetoden "launchagent" finns inte på det här systemet.`)
	r = s.en(t, "status", "--method", "runkey")
	if r.code != cli.ExitOK { // status reads every entry; --method is for install/uninstall
		t.Fatalf("status --method: %s", r)
	}
	// No HOME: a sentence, exit 1, nothing written.
	delete(s.env, "HOME")
	r = s.en(t, "install", "--method", "xdg")
	wantCode(t, r, cli.ExitFailure)
	wantIn(t, r.stderr, "Your home directory is not known")
	// Method names composed from a prefix.
	for _, m := range []autostart.Method{autostart.Systemd, autostart.XDG, autostart.LaunchAgent, autostart.RunKey} {
		for _, c := range []*l10n.Catalog{l10n.MustLoad(l10n.Swedish), l10n.MustLoad(l10n.English)} {
			if !c.Has("autostart." + string(m)) {
				t.Errorf("message autostart.%s missing", m)
			}
		}
	}
}
