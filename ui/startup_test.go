package ui

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/startup"
)

// The window process starts as every role does (package startup): these
// are the ways its own start-up had drifted from the CLI's.

func uiEnv(vars map[string]string) Env {
	return Env{Getenv: func(k string) string { return vars[k] }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The user's preferences are where the CLI finds them: under an absolute
// XDG_CONFIG_HOME, else under HOME/.config (a relative XDG_CONFIG_HOME is
// ignored, as the XDG rule says), read through the invocation's
// environment.
func TestUIStartHonoursXDG(t *testing.T) {
	restore := startup.SetPolicyForTest(filepath.Join(t.TempDir(), "none.json"), "")
	defer restore()
	home := t.TempDir()
	for _, tc := range []struct {
		xdg, want string
	}{
		{filepath.Join(home, "xdg"), filepath.Join(home, "xdg", "sithseid", "config.json")},
		{"relative", filepath.Join(home, ".config", "sithseid", "config.json")},
		{"", filepath.Join(home, ".config", "sithseid", "config.json")},
	} {
		writeFile(t, tc.want, `{"language": "en"}`)
		s := start(uiEnv(map[string]string{"HOME": home, "XDG_CONFIG_HOME": tc.xdg, "LANG": "sv_SE.UTF-8"}))
		if s.Config == nil || s.Config.UserFile() != tc.want {
			t.Errorf("XDG_CONFIG_HOME=%q: user file %v, want %s (%v)", tc.xdg, s.Config, tc.want, s.ConfigErr)
		} else if s.Lang("") != "en" {
			t.Errorf("XDG_CONFIG_HOME=%q: language %v, want the user's en", tc.xdg, s.Lang(""))
		}
		s.Close()
		os.Remove(tc.want)
	}
}

// SITHSEID_ENV picks the window process's environment as it picks the
// agent's and the CLI's: where policy allows switching, and only there.
func TestUIEnvironmentFromTheVariable(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	restore := startup.SetPolicyForTest(policy, "")
	defer restore()
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "SITHSEID_ENV": "demo"}

	writeFile(t, policy, `{}`)
	if got := environmentName(start(uiEnv(vars))); got != "DEMO" {
		t.Errorf("SITHSEID_ENV=demo: environment %q, want DEMO", got)
	}
	writeFile(t, policy, `{"environment": "TEST", "allowEnvironmentSwitch": false}`)
	if got := environmentName(start(uiEnv(vars))); got != "TEST" {
		t.Errorf("SITHSEID_ENV=demo where policy fixes TEST: environment %q, want TEST", got)
	}
}

// The diagnostics the window process writes itself name the module the
// invocation names: SITHSEID_PKCS11_MODULE over the configuration.
func TestUIDiagnosticsHonourTheVariables(t *testing.T) {
	restore := startup.SetPolicyForTest(filepath.Join(t.TempDir(), "none.json"), "")
	defer restore()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".config", "sithseid", "config.json"), `{"pkcs11Module": "/configured.so", "backend": "piv"}`)
	vars := map[string]string{"HOME": home, "SITHSEID_PKCS11_MODULE": "/from/variable.so", "SITHSEID_BACKEND": "pkcs11"}
	e := uiEnv(vars)
	s := start(e)
	if got := diagnosticsOptions(e, s).PKCS11Module; got != "/from/variable.so" {
		t.Errorf("module %q, want SITHSEID_PKCS11_MODULE's", got)
	}
	if got := s.Backend(""); got != "pkcs11" {
		t.Errorf("backend %q, want SITHSEID_BACKEND's", got)
	}
}
