package startup_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/startup"
)

func policyFile(t *testing.T, policy string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(f, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// A setting policy locks wins over the invocation's variables and flags;
// one policy leaves open (or lists in userMayOverride) does not.
func TestLockedSettingsWin(t *testing.T) {
	for _, tt := range []struct {
		name, policy    string
		backend, module string
		ignored         []string
	}{
		{"locked", `{"backend": "idprime", "pkcs11Module": "/usr/lib/p.so"}`, "idprime", "/usr/lib/p.so", []string{startup.EnvBackend, startup.EnvPKCS11Module}},
		{"may override", `{"backend": "idprime", "pkcs11Module": "/usr/lib/p.so", "userMayOverride": ["backend", "pkcs11Module"]}`, "pkcs11", "/tmp/u.so", nil},
		{"not set", `{}`, "pkcs11", "/tmp/u.so", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(startup.SetPolicyForTest(policyFile(t, tt.policy), ""))
			vars := map[string]string{startup.EnvBackend: "pkcs11", startup.EnvPKCS11Module: "/tmp/u.so", "HOME": t.TempDir()}
			s := startup.Start(startup.Env{Getenv: func(k string) string { return vars[k] }})
			defer s.Close()
			if s.ConfigErr != nil {
				t.Fatal(s.ConfigErr)
			}
			if got := s.Backend(""); got != tt.backend {
				t.Errorf("Backend(\"\") = %q, want %q", got, tt.backend)
			}
			if got := s.PKCS11Module(""); got != tt.module {
				t.Errorf("PKCS11Module(\"\") = %q, want %q", got, tt.module)
			}
			if tt.backend == "idprime" {
				if got := s.Backend("piv"); got != "idprime" {
					t.Errorf("Backend(\"piv\") = %q under a lock", got)
				}
			}
			var ignored []string
			for _, v := range s.IgnoredVariables() {
				ignored = append(ignored, v.Name)
			}
			if len(ignored) != len(tt.ignored) || (len(ignored) > 0 && (ignored[0] != tt.ignored[0] || ignored[1] != tt.ignored[1])) {
				t.Errorf("IgnoredVariables = %v, want %v", ignored, tt.ignored)
			}
		})
	}
}
