// Package startup is the one start-up path every role takes (the CLI, the
// URL handler, the ui process, the agent): the settings resolved once
// (defaults < policy < user < environment variables < flags, policy locks
// winning), the language, the log file, and "connect to this session's
// agent, or start it".
package startup

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/devicekey"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/uiexe"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/logfile"
)

// Environment variables of this invocation that override the configuration
// (and are overridden by the matching flags).
const (
	EnvBackend      = "SITHSEID_BACKEND"
	EnvPKCS11Module = "SITHSEID_PKCS11_MODULE"
	EnvLanguage     = "SITHSEID_LANG"
	EnvEnvironment  = "SITHSEID_ENV"
	EnvServiceURL   = "SITHSEID_SERVICE_URL"
)

// AgentStartWait is how long a role waits for an agent it started.
const AgentStartWait = 3 * time.Second

// Env is what a role's entry point sees of its process.
type Env struct {
	// Getenv reads the invocation's environment; nil means os.Getenv.
	Getenv func(string) string
	// Log, when set, is used as is; else LogToFile opens the product's
	// log file at the configured level (main sets it, tests do not), and
	// without either the log is discarded.
	Log       *slog.Logger
	LogToFile bool
}

// Session is one invocation's resolved start-up.
type Session struct {
	Getenv func(string) string
	// Config is the loaded configuration, nil when it did not load
	// (ConfigErr says why).
	Config    *config.Config
	ConfigErr error
	// Settings are the effective values (zero when the configuration did
	// not load).
	Settings config.Settings
	Log      *slog.Logger

	closeLog func() error
}

// policyOverride replaces the system policy for tests (SetPolicyForTest);
// nil in the product, where the policy is what IT installed and no flag
// or variable of the user's can replace it.
var policyOverride *config.Options

// SetPolicyForTest makes every role read its system policy from file and
// dir until restore is called. Tests only.
func SetPolicyForTest(file, dir string) (restore func()) {
	policyOverride = &config.Options{PolicyFile: file, PolicyDir: dir}
	return func() { policyOverride = nil }
}

// ConfigOptions says where the configuration is read: the system policy,
// and the user's preferences under XDG_CONFIG_HOME as the invocation sees
// it (os.UserConfigDir's rule on Linux, read through getenv).
func ConfigOptions(getenv func(string) string) config.Options {
	var o config.Options
	if policyOverride != nil {
		o = *policyOverride
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
			o.UserFile = filepath.Join(x, "sithseid", "config.json")
		} else if h := getenv("HOME"); h != "" && o.UserFile == "" {
			o.UserFile = filepath.Join(h, ".config", "sithseid", "config.json")
		}
	}
	return o
}

// Start resolves the configuration and opens the log. A broken user file
// is a warning (so a hand-edited mistake never locks the user out); a
// broken policy leaves Config nil and ConfigErr set, for the role to
// report. Close releases the log file.
func Start(e Env) *Session {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	s := &Session{Getenv: e.Getenv, Log: e.Log}
	o := ConfigOptions(e.Getenv)
	o.LenientUser = true
	s.Config, s.ConfigErr = config.Load(o)
	if s.ConfigErr == nil {
		s.Settings = s.Config.Effective()
	} else {
		s.Config = nil
	}
	if s.Log == nil && e.LogToFile {
		s.Log, s.closeLog = s.openLog()
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	return s
}

// openLog opens the log file in the invocation's log directory at the
// configured level.
func (s *Session) openLog() (*slog.Logger, func() error) {
	level, _ := config.ParseLogLevel(s.Settings.LogLevel)
	dir, err := logfile.DirEnv(s.Getenv)
	if err != nil {
		return nil, nil
	}
	l, err := logfile.Open(logfile.Options{Dir: dir, Level: level})
	if err != nil {
		return nil, nil
	}
	return l.Logger, l.Close
}

// Close releases what Start opened.
func (s *Session) Close() error {
	if s.closeLog != nil {
		return s.closeLog()
	}
	return nil
}

// Locked reports whether policy locks key, so that no flag, variable or
// user preference of this invocation may change it (false when the
// configuration did not load: then only the defaults apply).
func (s *Session) Locked(key string) bool {
	return s.Config != nil && s.Config.Locked(key)
}

// variables are the configuration keys an environment variable of the
// invocation may set, where policy allows.
var variables = []struct{ key, name string }{
	{config.KeyBackend, EnvBackend},
	{config.KeyPKCS11Module, EnvPKCS11Module},
	{config.KeyLanguage, EnvLanguage},
}

// IgnoredVariable is an environment variable of the invocation that
// policy overrules: its key is locked, so the policy's value stands.
type IgnoredVariable struct {
	Name string // SITHSEID_BACKEND
	Key  string // config.KeyBackend
}

// IgnoredVariables are the invocation's variables that policy overrules
// (the backend, the module, the language), for the role to tell the
// user. SITHSEID_ENV and SITHSEID_SERVICE_URL are not ignored but
// refused, by Environment.
func (s *Session) IgnoredVariables() []IgnoredVariable {
	var out []IgnoredVariable
	for _, v := range variables {
		if s.Getenv(v.name) != "" && s.Locked(v.key) {
			out = append(out, IgnoredVariable{Name: v.name, Key: v.key})
		}
	}
	return out
}

// setting is flag, else the variable, else the configured value; but the
// configured value alone when policy locks key: a locked setting wins
// over every input of the user's. Roles refuse a flag for a locked key
// before they get here (the CLI: *config.LockedError) and tell of an
// ignored variable (IgnoredVariables).
func (s *Session) setting(key, flag, variable, configured string) string {
	if key != "" && s.Locked(key) {
		return configured
	}
	if flag != "" {
		return flag
	}
	if v := s.Getenv(variable); v != "" {
		return v
	}
	return configured
}

// Backend is the backend preference: flag, SITHSEID_BACKEND, the
// configuration (only the configuration when policy locks it).
func (s *Session) Backend(flag string) string {
	return s.setting(config.KeyBackend, flag, EnvBackend, s.Settings.Backend)
}

// PKCS11Module is the PKCS#11 module: flag, SITHSEID_PKCS11_MODULE, the
// configuration ("" = the defaults; only the configuration when policy
// locks it).
func (s *Session) PKCS11Module(flag string) string {
	return s.setting(config.KeyPKCS11Module, flag, EnvPKCS11Module, s.Settings.PKCS11Module)
}

// Lang is the language: flag, SITHSEID_LANG, the configuration, the
// locale (only the configuration when policy locks it).
func (s *Session) Lang(flag string) l10n.Lang {
	return l10n.Detect(s.setting(config.KeyLanguage, flag, EnvLanguage, s.Settings.Language), s.Getenv)
}

// Catalog is the messages in Lang(flag).
func (s *Session) Catalog(flag string) *l10n.Catalog { return l10n.MustLoad(s.Lang(flag)) }

// Environment picks the environment: name (a flag), SITHSEID_ENV, the
// configuration (PROD by default); service (a flag), else
// SITHSEID_SERVICE_URL, replaces its endpoint (the trust anchors stay the
// environment's) unless policy sets that endpoint or the environment
// (*config.LockedError). Policy supplies the endpoints of PROD, QA and TEST;
// where it forbids switching, only its environment is allowed
// (*config.LockedError). A placeholder without endpoints is a
// *environment.NotConfiguredError, returned with the environment.
func (s *Session) Environment(name, service string) (environment.Environment, error) {
	name = s.setting("", name, EnvEnvironment, "")
	configured := s.Settings.Environment
	if configured == "" {
		configured = environment.PROD
	}
	if name == "" {
		name = configured
	}
	var env environment.Environment
	var err error
	if s.Config != nil {
		if !strings.EqualFold(name, configured) && !s.Config.CanSwitchEnvironment() {
			return env, &config.LockedError{Key: config.KeyEnvironment}
		}
		env, err = s.Config.EnvironmentNamed(name)
		if errors.Is(err, environment.ErrNotConfigured) {
			env, err = environment.Lookup(name)
		}
	} else {
		env, err = environment.Lookup(name)
	}
	if err != nil {
		return env, err
	}
	if env.Name == environment.DEMO && !s.DemoAllowed() {
		// Its trust anchor comes from a public test seed: in an
		// installed package only policy turns it on. No variable or
		// flag of the user's does (SITHSEID_ALLOW_DEMO is not read).
		return env.TurnOff(), &environment.TurnedOffError{Name: env.Name}
	}
	if service = s.setting("", service, EnvServiceURL, ""); service != "" && service != env.ServiceURL {
		// Policy that sets the environment's endpoint, or locks the
		// environment, locks the endpoint too: --service and
		// SITHSEID_SERVICE_URL would otherwise send the user's card to
		// a server policy never chose.
		if key := config.EnvironmentKey(env.Name, "serviceURL"); s.Config != nil && s.Config.Source(key) == config.SourcePolicy {
			return env, &config.LockedError{Key: key, Reason: config.LockedByPolicy}
		}
		if s.Locked(config.KeyEnvironment) {
			return env, &config.LockedError{Key: config.KeyEnvironment, Reason: config.LockedByPolicy}
		}
		env.ServiceURL = service
	}
	// The way there: policy's proxy, else HTTPS_PROXY/NO_PROXY of the
	// invocation, else directly (docs/admin.md, "Proxy").
	if env.Proxy, err = environment.ProxyFunc(s.Settings.Proxy, s.Getenv); err != nil {
		return env, err
	}
	if env.Placeholder && (env.ServiceURL == "" || len(env.TrustAnchors) == 0) {
		return env, &environment.NotConfiguredError{Name: env.Name}
	}
	return env, nil
}

// DemoAllowed reports whether the DEMO environment may be used: policy's
// allowDemo, else the build's default (on in development builds, off in
// the installed packages; config.DemoDefault). Without a configuration
// (a broken policy) the build's default applies.
func (s *Session) DemoAllowed() bool {
	if s.Config != nil {
		return s.Config.DemoAllowed()
	}
	return config.DemoDefault()
}

// AgentAddress is the local API address: flag (--socket), else this
// session's.
func (s *Session) AgentAddress(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return localapi.Address(s.Getenv)
}

// Connect reaches the agent at addr. When none answers and start is true,
// it starts one (the main executable, "agent --foreground --socket ADDR"),
// waits at most AgentStartWait for it, and connects again. Every role
// that needs the agent comes through here.
func (s *Session) Connect(ctx context.Context, addr string, start bool) (*localapi.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, AgentStartWait)
	defer cancel()
	c, err := localapi.DialAddress(dctx, addr)
	if !start || !errors.Is(err, localapi.ErrNoAgent) {
		return c, err
	}
	// The main executable: a window runs as sithseid-ui (internal/uiexe).
	exe, err := uiexe.Main()
	if err != nil {
		return nil, err
	}
	if _, err := localapi.Start(ctx, exe, []string{"agent", "--foreground", "--socket", addr}, addr, AgentStartWait); err != nil {
		return nil, err
	}
	return localapi.DialAddress(dctx, addr)
}

// DeviceKey is the installation's device key: in the OS keyring, else in
// the user's configuration directory (mode 0600), created on first use.
func (s *Session) DeviceKey(ctx context.Context) (*ecdsa.PrivateKey, error) {
	store := &devicekey.Store{Log: s.Log}
	if f := ConfigOptions(s.Getenv).UserFile; f != "" {
		store.Dir = filepath.Dir(f)
	}
	k, _, err := store.DeviceKey(ctx)
	return k, err
}
