package config_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
)

// configDir lays out a policy file, a drop-in dir and a user file in a
// temporary directory and returns the options that read them.
type configDir struct {
	dir  string
	opts config.Options
}

func newConfigDir(t *testing.T) *configDir {
	t.Helper()
	d := t.TempDir()
	return &configDir{dir: d, opts: config.Options{
		PolicyFile: filepath.Join(d, "etc", "policy.json"),
		PolicyDir:  filepath.Join(d, "etc", "policy.d"),
		UserFile:   filepath.Join(d, "home", "sithseid", "config.json"),
	}}
}

func (c *configDir) write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (c *configDir) policy(t *testing.T, content string) { c.write(t, c.opts.PolicyFile, content) }
func (c *configDir) dropIn(t *testing.T, name, content string) {
	c.write(t, filepath.Join(c.opts.PolicyDir, name), content)
}
func (c *configDir) user(t *testing.T, content string) { c.write(t, c.opts.UserFile, content) }

func (c *configDir) load(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(c.opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func wantValue(t *testing.T, cfg *config.Config, key string, want any, src config.Source) {
	t.Helper()
	v, s, err := cfg.Value(key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, want) || s != src {
		t.Errorf("%s = %#v from %s, want %#v from %s", key, v, s, want, src)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := newConfigDir(t)
	cfg := c.load(t)
	got := cfg.Effective()
	want := config.Settings{
		Environment:            "PROD",
		AllowEnvironmentSwitch: true,
		Backend:                "auto",
		LogLevel:               "info",
		ExpiryWarningDays:      []int{30, 14, 7},
		Environments:           map[string]config.EnvironmentSettings{},
		AllowDemo:              config.DemoDefault(), // true in a development build
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if got.ExpiryWarning() != 30*24*time.Hour {
		t.Errorf("ExpiryWarning %v", got.ExpiryWarning())
	}
	if w := (config.Settings{ExpiryWarningDays: []int{7, 60}}).ExpiryWarning(); w != 60*24*time.Hour {
		t.Errorf("ExpiryWarning %v", w)
	}
	for _, e := range cfg.Entries() {
		if e.Source != config.SourceDefault {
			t.Errorf("%s from %s", e.Key, e.Source)
		}
	}
	if len(cfg.PolicySources()) != 0 || len(cfg.Warnings()) != 0 {
		t.Errorf("sources %v warnings %v", cfg.PolicySources(), cfg.Warnings())
	}
	// PROD is a placeholder in this build: unusable until policy completes it.
	if _, err := cfg.Environment(); !errors.Is(err, environment.ErrNotConfigured) {
		t.Fatalf("PROD without policy: %v", err)
	}
	if env, err := cfg.EnvironmentNamed("demo"); err != nil || env.Name != "DEMO" || env.ServiceURL != environment.DemoServiceURL {
		t.Fatalf("DEMO: %+v %v", env, err)
	}
}

// Policy overrides the user's preference, and a locked key cannot be set.
func TestConfigPolicyLocks(t *testing.T) {
	c := newConfigDir(t)
	c.policy(t, `{"logLevel": "debug", "language": "sv", "userMayOverride": ["language"]}`)
	c.user(t, `{"logLevel": "error", "language": "en", "backend": "pkcs11"}`)
	cfg := c.load(t)
	wantValue(t, cfg, config.KeyLogLevel, "debug", config.SourcePolicy) // locked: user's "error" ignored
	wantValue(t, cfg, config.KeyLanguage, "en", config.SourceUser)      // policy allows the override
	wantValue(t, cfg, config.KeyBackend, "pkcs11", config.SourceUser)
	wantValue(t, cfg, config.KeyExpiryWarningDays, []int{30, 14, 7}, config.SourceDefault)
	if !cfg.Locked(config.KeyLogLevel) || cfg.Locked(config.KeyLanguage) || cfg.Locked(config.KeyBackend) {
		t.Errorf("locked: logLevel %v language %v backend %v", cfg.Locked(config.KeyLogLevel), cfg.Locked(config.KeyLanguage), cfg.Locked(config.KeyBackend))
	}
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, `"logLevel" is locked`) {
		t.Errorf("no warning about the ignored user value: %q", w)
	}

	before, _ := os.ReadFile(c.opts.UserFile)
	err := cfg.SetUser(config.KeyLogLevel, "warn")
	var locked *config.LockedError
	if !errors.As(err, &locked) || locked.Key != config.KeyLogLevel || locked.Reason != config.LockedByPolicy {
		t.Fatalf("SetUser of a locked key: %v", err)
	}
	if after, _ := os.ReadFile(c.opts.UserFile); string(after) != string(before) {
		t.Fatal("a refused SetUser wrote the user file")
	}
	// Policy-only keys are refused whatever policy says.
	for _, k := range []string{config.KeyAllowEnvironmentSwitch, config.EnvironmentKey("PROD", "serviceURL")} {
		if err := cfg.SetUser(k, "true"); !errors.As(err, &locked) || locked.Reason != config.LockedPolicyOnly {
			t.Errorf("SetUser(%s): %v", k, err)
		}
	}
}

func TestConfigSetUser(t *testing.T) {
	c := newConfigDir(t)
	cfg := c.load(t)
	if err := cfg.SetUser(config.KeyExpiryWarningDays, "7, 60,14"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetUser(config.KeyEnvironment, "demo"); err != nil {
		t.Fatal(err)
	}
	wantValue(t, cfg, config.KeyExpiryWarningDays, []int{60, 14, 7}, config.SourceUser)
	wantValue(t, cfg, config.KeyEnvironment, "DEMO", config.SourceUser)
	fi, err := os.Stat(c.opts.UserFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("user file mode %v", fi.Mode().Perm())
	}
	// No temporary files left beside it (the write is a rename).
	ents, _ := os.ReadDir(filepath.Dir(c.opts.UserFile))
	if len(ents) != 1 {
		t.Errorf("user config dir holds %d entries", len(ents))
	}
	// A fresh load sees the same.
	cfg2 := c.load(t)
	wantValue(t, cfg2, config.KeyExpiryWarningDays, []int{60, 14, 7}, config.SourceUser)
	if env, err := cfg2.Environment(); err != nil || env.Name != "DEMO" {
		t.Fatalf("environment: %+v %v", env, err)
	}
	if err := cfg2.UnsetUser(config.KeyExpiryWarningDays); err != nil {
		t.Fatal(err)
	}
	wantValue(t, c.load(t), config.KeyExpiryWarningDays, []int{30, 14, 7}, config.SourceDefault)

	// Bad values and keys are refused with typed errors.
	var ve *config.ValueError
	for _, tc := range []struct{ key, val string }{
		{config.KeyLogLevel, "verbose"},
		{config.KeyBackend, "opensc"},
		{config.KeyExpiryWarningDays, "30,soon"},
		{config.KeyExpiryWarningDays, "0"},
		{config.KeyLanguage, "de"},
	} {
		if err := cfg2.SetUser(tc.key, tc.val); !errors.As(err, &ve) {
			t.Errorf("SetUser(%s, %s): %v", tc.key, tc.val, err)
		}
	}
	if err := cfg2.SetUser(config.KeyEnvironment, "STAGING"); !errors.Is(err, environment.ErrUnknown) {
		t.Errorf("unknown environment: %v", err)
	}
	if err := cfg2.SetUser("colour", "blue"); !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestConfigStrictParsing(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		unknownEnv   bool
	}{
		{"string for bool", `{"allowEnvironmentSwitch": "no"}`, false},
		{"number for string", `{"logLevel": 3}`, false},
		{"list of strings for days", `{"expiryWarningDays": ["30"]}`, false},
		{"unknown environment", `{"environment": "STAGING"}`, true},
		{"unknown environment block", `{"environments": {"STAGING": {"serviceURL": "https://x"}}}`, true},
		{"http service", `{"environments": {"PROD": {"serviceURL": "http://idp.example"}}}`, false},
		{"relative anchors", `{"environments": {"PROD": {"trustAnchorsFile": "roots.pem"}}}`, false},
		{"not an object", `["environment"]`, false},
		{"broken JSON", `{"environment": `, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConfigDir(t)
			c.policy(t, tc.policy)
			_, err := config.Load(c.opts)
			var fe *config.FileError
			if !errors.As(err, &fe) || fe.Path != c.opts.PolicyFile {
				t.Fatalf("want a ConfigFileError naming %s, got %v", c.opts.PolicyFile, err)
			}
			if tc.unknownEnv != errors.Is(err, environment.ErrUnknown) {
				t.Errorf("unknown environment %v: %v", tc.unknownEnv, err)
			}
		})
	}
	// Wrong types in the user's file fail too, naming that file.
	c := newConfigDir(t)
	c.user(t, `{"expiryWarningDays": 30}`)
	var fe *config.FileError
	if _, err := config.Load(c.opts); !errors.As(err, &fe) || fe.Path != c.opts.UserFile {
		t.Fatalf("user file: %v", err)
	}
	// LenientUser: the broken user file is a warning and ignored.
	c.opts.LenientUser = true
	cfg, err := config.Load(c.opts)
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, cfg, config.KeyExpiryWarningDays, []int{30, 14, 7}, config.SourceDefault)
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, c.opts.UserFile) {
		t.Errorf("no warning naming the user file: %q", w)
	}
	// Unknown keys are warnings, not errors.
	c = newConfigDir(t)
	c.policy(t, `{"colour": "blue", "logLevel": "warn"}`)
	c.user(t, `{"allowEnvironmentSwitch": false}`)
	cfg = c.load(t)
	w := strings.Join(cfg.Warnings(), "\n")
	if !strings.Contains(w, `unknown key "colour"`) || !strings.Contains(w, `"allowEnvironmentSwitch" may only be set by policy`) {
		t.Errorf("warnings: %q", w)
	}
	wantValue(t, cfg, config.KeyLogLevel, "warn", config.SourcePolicy)
	wantValue(t, cfg, config.KeyAllowEnvironmentSwitch, true, config.SourceDefault)
}

// Drop-ins merge in lexical order after policy.json; a later file wins key
// by key.
func TestConfigDropIns(t *testing.T) {
	c := newConfigDir(t)
	c.policy(t, `{"logLevel": "warn", "backend": "piv", "environment": "QA"}`)
	c.dropIn(t, "20-ward.json", `{"logLevel": "debug"}`)
	c.dropIn(t, "10-region.json", `{"logLevel": "error", "expiryWarningDays": [21]}`)
	c.dropIn(t, "README", `not json, not read`)
	cfg := c.load(t)
	wantValue(t, cfg, config.KeyLogLevel, "debug", config.SourcePolicy)
	wantValue(t, cfg, config.KeyBackend, "piv", config.SourcePolicy)
	wantValue(t, cfg, config.KeyExpiryWarningDays, []int{21}, config.SourcePolicy)
	got := cfg.PolicySources()
	want := []string{c.opts.PolicyFile, filepath.Join(c.opts.PolicyDir, "10-region.json"), filepath.Join(c.opts.PolicyDir, "20-ward.json")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sources %v", got)
	}
	if !cfg.Locked(config.KeyEnvironment) || cfg.CanSwitchEnvironment() {
		t.Error("environment set by policy is not locked")
	}
}

// allowEnvironmentSwitch=false locks environment even where policy does
// not set it, and a user's earlier choice stops applying.
func TestConfigNoEnvironmentSwitch(t *testing.T) {
	c := newConfigDir(t)
	c.policy(t, `{"allowEnvironmentSwitch": false}`)
	c.user(t, `{"environment": "DEMO"}`)
	cfg := c.load(t)
	wantValue(t, cfg, config.KeyEnvironment, "PROD", config.SourceDefault)
	var locked *config.LockedError
	if err := cfg.SetUser(config.KeyEnvironment, "TEST"); !errors.As(err, &locked) || locked.Reason != config.LockedNoSwitch {
		t.Fatalf("switch refused? %v", err)
	}
	if cfg.CanSwitchEnvironment() {
		t.Error("CanSwitchEnvironment")
	}
}

// Policy makes a placeholder environment usable by giving its service URL
// and trust anchors.
func TestConfigPolicyEnvironment(t *testing.T) {
	c := newConfigDir(t)
	demo, err := environment.Lookup(environment.DEMO)
	if err != nil {
		t.Fatal(err)
	}
	roots := demo.TrustAnchors // any PEM root will do
	anchors := filepath.Join(c.dir, "etc", "prod-roots.pem")
	c.write(t, anchors, string(roots))
	pol, _ := json.Marshal(map[string]any{
		"environment": "PROD",
		"environments": map[string]any{
			"PROD": map[string]any{"serviceURL": "https://idp.example.se/authenticator", "trustAnchorsFile": anchors},
			"QA":   map[string]any{"serviceURL": "https://idp-qa.example.se"},
		},
	})
	c.policy(t, string(pol))
	cfg := c.load(t)
	env, err := cfg.Environment()
	if err != nil {
		t.Fatal(err)
	}
	if env.Name != "PROD" || env.Placeholder || env.ServiceURL != "https://idp.example.se/authenticator" || string(env.TrustAnchors) != string(roots) {
		t.Fatalf("PROD: %+v", env)
	}
	if _, err := env.Roots(); err != nil {
		t.Fatal(err)
	}
	// QA has a URL but no anchors: still not configured.
	if _, err := cfg.EnvironmentNamed("QA"); !errors.Is(err, environment.ErrNotConfigured) {
		t.Fatalf("QA: %v", err)
	}
	wantValue(t, cfg, config.EnvironmentKey("PROD", "serviceURL"), "https://idp.example.se/authenticator", config.SourcePolicy)
	if got := cfg.Effective().Environments["QA"].ServiceURL; got != "https://idp-qa.example.se" {
		t.Errorf("QA URL %q", got)
	}
	// An anchors file that is not PEM is an error, not an empty pool.
	c.write(t, anchors, "not a certificate")
	if _, err := c.load(t).Environment(); err == nil {
		t.Fatal("garbage anchors accepted")
	}
}

// Every key is documented in docs/admin.md.
func TestConfigKeysDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, k := range config.Keys() {
		if strings.HasPrefix(k, "environments.") {
			k = k[strings.LastIndex(k, ".")+1:]
		}
		if !strings.Contains(doc, "`"+k+"`") {
			t.Errorf("docs/admin.md does not document `%s`", k)
		}
	}
	if !strings.Contains(doc, "`"+config.KeyUserMayOverride+"`") {
		t.Errorf("docs/admin.md does not document `%s`", config.KeyUserMayOverride)
	}
}

// The backend setting takes every preference cardreader knows (the native
// IDPrime backend among them) and nothing else, from policy as from the user.
func TestConfigBackendPreferences(t *testing.T) {
	for _, pref := range cardreader.Preferences {
		c := newConfigDir(t)
		if err := c.load(t).SetUser(config.KeyBackend, pref); err != nil {
			t.Errorf("backend %q: %v", pref, err)
			continue
		}
		wantValue(t, c.load(t), config.KeyBackend, pref, config.SourceUser)
		c.policy(t, `{"backend": "`+pref+`"}`)
		wantValue(t, c.load(t), config.KeyBackend, pref, config.SourcePolicy)
	}
	if !slices.Contains(cardreader.Preferences, cardreader.PreferIDPrime) {
		t.Fatalf("cardreader.Preferences %v lacks idprime", cardreader.Preferences)
	}
	c := newConfigDir(t)
	if err := c.load(t).SetUser(config.KeyBackend, "opensc"); err == nil {
		t.Error("backend \"opensc\" accepted")
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, lv := range []string{"debug", "info", "warn", "error"} {
		if _, err := config.ParseLogLevel(lv); err != nil {
			t.Error(err)
		}
	}
	var ve *config.ValueError
	if _, err := config.ParseLogLevel("trace"); !errors.As(err, &ve) {
		t.Errorf("trace: %v", err)
	}
}

func TestDefaultExpiryWarningIsApps(t *testing.T) {
	if config.DefaultExpiryWarning != app.ExpiryWarning {
		t.Errorf("config.DefaultExpiryWarning %v, app.ExpiryWarning %v", config.DefaultExpiryWarning, app.ExpiryWarning)
	}
}

func TestBackendPreferencesAreCardreaders(t *testing.T) {
	if !slices.Equal(config.BackendPreferences, cardreader.Preferences) {
		t.Errorf("config %q, cardreader %q", config.BackendPreferences, cardreader.Preferences)
	}
}
