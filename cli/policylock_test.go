package cli_test

import (
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
)

// Policy means policy: a setting policy locks wins over the invocation's
// flags and variables, and the CLI says why it refused or ignored them.
func TestPolicyLockedSettingsWinOverFlagsAndVariables(t *testing.T) {
	const link = "sithseid:///?autostarttoken=00000000-0000-4000-8000-000000000000"
	// An address where nothing listens: code that let the override
	// through fails later, with another exit code.
	const evil = "https://127.0.0.1:1"
	tests := []struct {
		name, policy string
		env          map[string]string
		args         []string
		want         []string // in stderr
	}{
		{
			name:   "service URL by flag",
			policy: `{"environments": {"PROD": {"serviceURL": "https://idp.example.org"}}}`,
			args:   []string{"login", link, "--pin-stdin", "--service", evil},
			want:   []string{"environments.PROD.serviceURL", "locked"},
		},
		{
			name:   "service URL by variable",
			policy: `{"environments": {"PROD": {"serviceURL": "https://idp.example.org"}}}`,
			env:    map[string]string{"SITHSEID_SERVICE_URL": evil},
			args:   []string{"login", link, "--pin-stdin"},
			want:   []string{"environments.PROD.serviceURL", "locked"},
		},
		{
			name:   "service URL of a locked environment, by flag",
			policy: `{"environment": "PROD"}`,
			args:   []string{"login", link, "--pin-stdin", "--service", evil},
			want:   []string{"environment", "locked"},
		},
		{
			name:   "service URL of a locked environment, by variable",
			policy: `{"environment": "PROD"}`,
			env:    map[string]string{"SITHSEID_SERVICE_URL": evil},
			args:   []string{"login", link, "--pin-stdin"},
			want:   []string{"environment", "locked"},
		},
		{
			name:   "environment by variable",
			policy: `{"environment": "PROD"}`,
			env:    map[string]string{"SITHSEID_ENV": "DEMO"},
			args:   []string{"login", link, "--pin-stdin"},
			want:   []string{"environment", "locked"},
		},
		{
			name:   "backend by flag",
			policy: `{"backend": "idprime"}`,
			args:   []string{"status", "--backend", "pkcs11"},
			want:   []string{"backend", "locked"},
		},
		{
			name:   "PKCS#11 module by flag",
			policy: `{"pkcs11Module": "/usr/lib/policy-module.so"}`,
			args:   []string{"status", "--pkcs11-module", "/tmp/evil.so"},
			want:   []string{"pkcs11Module", "locked"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newConfigEnv(t, tt.policy)
			env := map[string]string{"LANG": "en_US.UTF-8", "XDG_CONFIG_HOME": e.home, "SITHSEID_NO_AGENT": "1"}
			for k, v := range tt.env {
				env[k] = v
			}
			r := sithseidEnv(t, env, tt.args...)
			wantCode(t, r, cli.ExitConfirm)
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// A variable for a locked key is ignored, and the CLI says so, in the
// user's language.
func TestPolicyLockedVariableIgnoredSaysSo(t *testing.T) {
	e := newConfigEnv(t, `{"backend": "idprime", "language": "en"}`)
	for _, tt := range []struct{ lang, want string }{
		{"en_US.UTF-8", "SITHSEID_BACKEND is ignored: your organisation's policy locks the setting backend."},
	} {
		r := sithseidEnv(t, map[string]string{"LANG": tt.lang, "XDG_CONFIG_HOME": e.home, "SITHSEID_NO_AGENT": "1", "SITHSEID_BACKEND": "pkcs11"}, "config", "show")
		wantCode(t, r, cli.ExitOK)
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
		}
	}
	e = newConfigEnv(t, `{"backend": "idprime", "language": "sv"}`)
	r := sithseidEnv(t, map[string]string{"LANG": "en_US.UTF-8", "XDG_CONFIG_HOME": e.home, "SITHSEID_BACKEND": "pkcs11"}, "config", "show", "--lang", "en")
	wantCode(t, r, cli.ExitOK)
	for _, w := range []string{"SITHSEID_BACKEND ignoreras", "--lang ignoreras"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}
