package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
)

// configEnv points the CLI at a policy file and a user config home of the
// test's own, and runs it with them.
type configEnv struct {
	policy, home string
}

func newConfigEnv(t *testing.T, policy string) *configEnv {
	t.Helper()
	d := t.TempDir()
	e := &configEnv{policy: filepath.Join(d, "policy.json"), home: filepath.Join(d, "config")}
	if policy != "" {
		if err := os.WriteFile(e.policy, []byte(policy), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(cli.SetPolicyForTest(e.policy, filepath.Join(d, "policy.d")))
	return e
}

func (e *configEnv) run(t *testing.T, lang string, args ...string) result {
	t.Helper()
	return sithseidEnv(t, map[string]string{"LANG": lang, "XDG_CONFIG_HOME": e.home}, args...)
}

func (e *configEnv) userFile() string { return filepath.Join(e.home, "sithseid", "config.json") }

func sithseidEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := cli.Run(t.Context(), cli.Env{
		Args:    args,
		Stdin:   strings.NewReader(""),
		Stdout:  &out,
		Stderr:  &errb,
		Getenv:  func(k string) string { return env[k] },
		Version: "test",
	})
	return result{out.String(), errb.String(), code}
}

func showJSON(t *testing.T, e *configEnv) map[string]app.ConfigEntry {
	t.Helper()
	r := e.run(t, "en_US.UTF-8", "config", "show", "--json")
	wantCode(t, r, 0)
	var doc struct {
		Entries       []app.ConfigEntry `json:"entries"`
		PolicySources []string          `json:"policySources"`
		UserFile      string            `json:"userFile"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.UserFile != e.userFile() {
		t.Errorf("userFile %q", doc.UserFile)
	}
	out := map[string]app.ConfigEntry{}
	for _, en := range doc.Entries {
		out[en.Key] = en
	}
	return out
}

func TestConfigCLI(t *testing.T) {
	e := newConfigEnv(t, `{"logLevel": "warn", "language": "sv", "userMayOverride": ["language"]}`)

	// set and unset of a free key, through the user's file.
	r := e.run(t, "en_US.UTF-8", "config", "set", "expiryWarningDays", "60,30")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "expiryWarningDays = 60,30")
	fi, err := os.Stat(e.userFile())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("user file: %v %v", fi, err)
	}
	wantCode(t, e.run(t, "en_US.UTF-8", "config", "set", "language", "en"), 0)
	got := showJSON(t, e)
	if d := got["expiryWarningDays"]; d.Source != app.SourceUser || len(d.Value.([]any)) != 2 {
		t.Errorf("expiryWarningDays: %+v", d)
	}
	if l := got["language"]; l.Source != app.SourceUser || l.Value != "en" || l.Locked {
		t.Errorf("language: %+v", l)
	}
	if l := got["logLevel"]; l.Source != app.SourcePolicy || l.Value != "warn" || !l.Locked {
		t.Errorf("logLevel: %+v", l)
	}
	if b := got["backend"]; b.Source != app.SourceDefault || b.Value != "auto" {
		t.Errorf("backend: %+v", b)
	}

	// A locked key is refused and nothing changes.
	before, _ := os.ReadFile(e.userFile())
	r = e.run(t, "sv_SE.UTF-8", "config", "set", "logLevel", "debug")
	if r.code == 0 {
		t.Fatalf("locked key set: %s", r)
	}
	after, _ := os.ReadFile(e.userFile())
	if string(before) != string(after) {
		t.Error("refused set changed the user file")
	}
	if l := showJSON(t, e)["logLevel"]; l.Value != "warn" {
		t.Errorf("logLevel after refused set: %+v", l)
	}

	// Human output names the sources, in Swedish and English.
	r = e.run(t, "sv_SE.UTF-8", "config", "show")
	wantCode(t, r, 0)
	for _, want := range []string{"logLevel", "warn", "policy, låst", "användare", "standard", "Policy från: " + e.policy} {
		wantIn(t, r.stdout, want)
	}
	r = e.run(t, "en_US.UTF-8", "config", "show")
	wantIn(t, r.stdout, "policy, locked")

	r = e.run(t, "en_US.UTF-8", "config", "unset", "language")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "language reset: sv (policy)")

	// Usage errors.
	wantCode(t, e.run(t, "en_US.UTF-8", "config", "set", "logLevel"), cli.ExitUsage)
	wantCode(t, e.run(t, "en_US.UTF-8", "config", "frob"), cli.ExitUsage)
}

// A policy the product does not understand is refused with the file's
// name, not half applied.
func TestConfigCLIBadPolicy(t *testing.T) {
	e := newConfigEnv(t, `{"logLevel": 3}`)
	r := e.run(t, "en_US.UTF-8", "config", "show")
	if r.code == 0 || !strings.Contains(r.stderr, e.policy) {
		t.Fatalf("bad policy: %s", r)
	}
}
