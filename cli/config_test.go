package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
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

func showJSON(t *testing.T, e *configEnv) map[string]config.Entry {
	t.Helper()
	r := e.run(t, "en_US.UTF-8", "config", "show", "--json")
	wantCode(t, r, 0)
	var doc struct {
		Entries       []config.Entry `json:"entries"`
		PolicySources []string       `json:"policySources"`
		UserFile      string         `json:"userFile"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.UserFile != e.userFile() {
		t.Errorf("userFile %q", doc.UserFile)
	}
	out := map[string]config.Entry{}
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
	if d := got["expiryWarningDays"]; d.Source != config.SourceUser || len(d.Value.([]any)) != 2 {
		t.Errorf("expiryWarningDays: %+v", d)
	}
	if l := got["language"]; l.Source != config.SourceUser || l.Value != "en" || l.Locked {
		t.Errorf("language: %+v", l)
	}
	if l := got["logLevel"]; l.Source != config.SourcePolicy || l.Value != "warn" || !l.Locked {
		t.Errorf("logLevel: %+v", l)
	}
	if b := got["backend"]; b.Source != config.SourceDefault || b.Value != "auto" {
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

	// Human output names the sources, in Swedish and English. The user
	// chose English above, which wins over the locale: --lang wins over both.
	r = e.run(t, "sv_SE.UTF-8", "config", "show", "--lang", "sv")
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

// Policy drives the commands: its environment, endpoints and trust anchors
// make a login work with no flag; a forbidden switch is refused; its
// language wins over the locale unless the user may override it.
func TestPolicyDrivesCommands(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	s := startIDP(t)
	anchors := filepath.Join(t.TempDir(), "demo-root.pem")
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(anchors, pki.Root.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	// TEST is a placeholder in this build: policy gives it endpoints.
	e := newConfigEnv(t, `{"environment": "TEST", "allowEnvironmentSwitch": false, "language": "en",
		"environments": {"TEST": {"serviceURL": "`+s.URL+`", "trustAnchorsFile": "`+anchors+`"}}}`)
	o := s.order(t, "Logga in")
	r := sithseidEnvIn(t, e, "123456\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "Logged in to Journalsystemet Demo") // policy's language, not the locale's
	if c := s.collect(t, o); c.Status != oob.StatusComplete {
		t.Fatalf("collect: %+v", c)
	}
	// The environment is locked: another one is refused before any PIN.
	r = sithseidEnvIn(t, e, "123456\n", "login", oob.AutoStartURL(s.order(t, "x").AutoStartToken, ""), "--pin-stdin", "--env", "DEMO")
	wantCode(t, r, cli.ExitConfirm)
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("PIN: %+v", c.PIN)
	}
}

func sithseidEnvIn(t *testing.T, e *configEnv, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	env := map[string]string{"LANG": "sv_SE.UTF-8", "XDG_CONFIG_HOME": e.home, "SITHSEID_NO_AGENT": "1"}
	code := cli.Run(t.Context(), cli.Env{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Version: "test",
	})
	return result{out.String(), errb.String(), code}
}
