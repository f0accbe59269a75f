// Package config is the configuration: built-in defaults, the system
// policy (JSON files, the Windows registry, a macOS managed plist) and the
// user's preferences, with policy locks.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/internal/contrast"
	"github.com/sithseid/sithseid/oob"
)

// Configuration keys. docs/admin.md ("Configuration and policy") documents
// each one; a test checks that it does.
const (
	KeyEnvironment            = "environment"
	KeyAllowEnvironmentSwitch = "allowEnvironmentSwitch"
	KeyPKCS11Module           = "pkcs11Module"
	KeyBackend                = "backend"
	KeyLogLevel               = "logLevel"
	KeyLanguage               = "language"
	KeyExpiryWarningDays      = "expiryWarningDays"
	KeyPIVManagementKeyFile   = "pivManagementKeyFile"
	// KeyAllowDemo is policy's word on the DEMO environment, whose trust
	// anchor comes from a public test seed: off in installed packages
	// (DemoDefault) unless policy sets it true.
	KeyAllowDemo = "allowDemo"
	// KeyProxy is policy's proxy for the identity service: an http or
	// socks5 proxy URL, "direct", or "" (the system's settings, then
	// HTTPS_PROXY/NO_PROXY). See docs/admin.md.
	KeyProxy = "proxy"
	// KeyDefaultOrganisation names an organisation number ("SE" and ten
	// digits, e.g. SE2321000016): on a card with several organisations'
	// SITHS eIDs, that organisation's is the default unless the user chose
	// another (issue 15).
	KeyDefaultOrganisation = "defaultOrganisation"
	// The region's helpdesk (issue 17), policy only: whom the holder
	// calls when the PIN is blocked and there is no PUK to type (cards
	// from 2024), shown in the blocked-PIN message, the status window,
	// "sithseid status" and the About window. See docs/admin.md.
	KeyHelpdeskName  = "helpdeskName"
	KeyHelpdeskPhone = "helpdeskPhone"
	KeyHelpdeskURL   = "helpdeskURL"
	KeyHelpdeskHours = "helpdeskHours"
	// The organisation's look (issue 17), policy only: an accent colour
	// "#RRGGBB" for the windows' primary button, focus and selection
	// (ignored with a warning when its contrast is too low in the light or
	// the dark theme), and an absolute path to a PNG logo of at most
	// MaxLogoBytes shown in the windows' header. See docs/admin.md.
	KeyAccentColour = "accentColour"
	KeyLogoFile     = "logoFile"
	// KeyUserMayOverride is the policy's list of keys it sets only as a
	// default: the user may still change them. It is not a setting itself.
	KeyUserMayOverride = "userMayOverride"
)

// Per-environment keys are "environments.<NAME>.serviceURL" and
// "environments.<NAME>.trustAnchorsFile" (NAME one of PROD, QA, TEST,
// DEMO). In JSON they nest: {"environments": {"PROD": {"serviceURL": …}}}.
const (
	envKeyServiceURL       = "serviceURL"
	envKeyTrustAnchorsFile = "trustAnchorsFile"
)

// EnvironmentKey is the flat key of an environment's setting, e.g.
// EnvironmentKey("PROD", "serviceURL") = "environments.PROD.serviceURL".
func EnvironmentKey(env, setting string) string {
	return "environments." + strings.ToUpper(env) + "." + setting
}

// Source says which layer an effective value comes from.
type Source string

const (
	SourceDefault Source = "default"
	SourcePolicy  Source = "policy"
	SourceUser    Source = "user"
)

// Default locations. The system policy's location differs per OS (see
// defaultPolicySources in config_*.go).
const (
	LinuxPolicyFile = "/etc/sithseid/policy.json"
	LinuxPolicyDir  = "/etc/sithseid/policy.d"
	// WindowsPolicyKey is under HKEY_LOCAL_MACHINE.
	WindowsPolicyKey = `Software\Policies\SITHS eID`
	// MacPolicyFile is the managed preferences plist an MDM profile writes.
	MacPolicyFile = "/Library/Managed Preferences/io.github.sithseid.desktop.plist"
)

// ConfigOptions says where LoadConfig reads. The zero value reads the
// platform's system policy and the user's preferences.
type Options struct {
	// PolicyFile and PolicyDir replace the platform's system policy with a
	// JSON file and a drop-in directory of *.json files merged in lexical
	// order (later files win). Empty means the platform's default: on Linux
	// /etc/sithseid/policy.json and /etc/sithseid/policy.d, on Windows the
	// registry, on macOS the managed preferences plist.
	PolicyFile string
	PolicyDir  string
	// NoSystemPolicy ignores the system policy altogether (tests).
	NoSystemPolicy bool
	// UserFile is the user's preferences; empty means
	// os.UserConfigDir()/sithseid/config.json.
	UserFile string
	// LenientUser turns a user file that cannot be read or parsed into a
	// warning (the file is then ignored as a whole) instead of an error,
	// so a hand-edited mistake does not keep the agent from starting.
	// Policy is always strict.
	LenientUser bool
}

// Settings are the effective values.
type Settings struct {
	Environment            string
	AllowEnvironmentSwitch bool
	PKCS11Module           string
	Backend                string
	LogLevel               string
	Language               string
	ExpiryWarningDays      []int
	// PIVManagementKeyFile is policy's file of a PIV management key (hex).
	PIVManagementKeyFile string
	// AllowDemo: the DEMO environment may be used (policy's allowDemo,
	// else DemoDefault).
	AllowDemo bool
	// Proxy is policy's proxy for the identity service (KeyProxy).
	Proxy string
	// DefaultOrganisation is KeyDefaultOrganisation's organisation number.
	DefaultOrganisation string
	// Helpdesk is policy's helpdesk (the helpdesk* keys); zero when unset.
	Helpdesk Helpdesk
	// AccentColour is policy's accent colour "#RRGGBB" when its contrast
	// passed; "" otherwise. LogoFile is policy's logo PNG (ReadLogo).
	AccentColour string
	LogoFile     string
	// Environments holds what policy says of each environment's endpoints.
	Environments map[string]EnvironmentSettings
}

// Helpdesk is the region's helpdesk as policy names it. Its JSON form is
// the "helpdesk" object of "sithseid status --json".
type Helpdesk struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	URL   string `json:"url,omitempty"`
	Hours string `json:"hours,omitempty"`
}

// IsZero reports whether policy names no helpdesk.
func (h Helpdesk) IsZero() bool { return h == Helpdesk{} }

// Limits of the helpdesk keys' values (characters).
const (
	maxHelpdeskName  = 80
	maxHelpdeskPhone = 32
	maxHelpdeskURL   = 200
	maxHelpdeskHours = 120
)

// BackendPreferences are the values of the backend key: the same as
// cardreader.Preferences (a test checks), which this package, built
// without cgo everywhere, does not import.
var BackendPreferences = []string{"auto", "idprime", "piv", "pkcs11"}

// DefaultExpiryWarning is ExpiryWarning when no days are set: the same
// as app.ExpiryWarning (a test checks), which this package, below app,
// cannot import.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// ExpiryWarning is how far ahead the first expiry warning comes (the
// largest of ExpiryWarningDays), for StatusOptions.ExpiryWarning.
func (s Settings) ExpiryWarning() time.Duration {
	days := 0
	for _, d := range s.ExpiryWarningDays {
		days = max(days, d)
	}
	if days == 0 {
		return DefaultExpiryWarning
	}
	return time.Duration(days) * 24 * time.Hour
}

// EnvironmentSettings is what policy may say of one environment.
type EnvironmentSettings struct {
	ServiceURL       string
	TrustAnchorsFile string
}

// ConfigEntry is one key with its effective value, for "config show" and
// the diagnostics archive.
type Entry struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source Source `json:"source"`
	// Locked: the user cannot change this key.
	Locked bool `json:"locked,omitempty"`
}

// LockReason says why a key is locked.
type LockReason string

const (
	// LockedByPolicy: policy sets the key and does not list it in
	// userMayOverride.
	LockedByPolicy LockReason = "policy"
	// LockedPolicyOnly: only policy may set this key (environment
	// endpoints and trust anchors, allowEnvironmentSwitch).
	LockedPolicyOnly LockReason = "policyOnly"
	// LockedNoSwitch: environment, while allowEnvironmentSwitch is false.
	LockedNoSwitch LockReason = "environmentSwitch"
)

// LockedError is returned by SetUser and UnsetUser for a key the user
// cannot change.
type LockedError struct {
	Key    string
	Reason LockReason
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("configuration key %q is locked (%s)", e.Key, e.Reason)
}

// ErrUnknownKey: a key that is not a configuration key.
var ErrUnknownKey = errors.New("unknown configuration key")

// ValueError is a value of the wrong type or outside the allowed set.
type ValueError struct {
	Key    string
	Value  string // as given, shortened
	Reason string // what is expected
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("configuration key %q: %s (got %s)", e.Key, e.Reason, e.Value)
}

// ConfigFileError is a configuration file (or registry key) that cannot be
// read or parsed; Err is a *ValueError, ErrUnknownEnvironment or the parse
// error.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

type kind int

const (
	kindString kind = iota
	kindBool
	kindInts
	kindStrings // userMayOverride only
)

type keySpec struct {
	kind       kind
	def        any
	policyOnly bool
	check      func(v any) error // nil: any value of the kind
}

func oneOf(vals ...string) func(any) error {
	return func(v any) error {
		if slices.Contains(vals, v.(string)) {
			return nil
		}
		return fmt.Errorf("want one of %s", strings.Join(quoteAll(vals), ", "))
	}
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// specs is the schema. Environment keys are added by init below.
var specs = map[string]keySpec{
	KeyEnvironment: {kind: kindString, def: environment.PROD, check: func(v any) error {
		if !slices.Contains(environment.Names, v.(string)) {
			return fmt.Errorf("want one of %s: %w", strings.Join(environment.Names, ", "), environment.ErrUnknown)
		}
		return nil
	}},
	KeyAllowEnvironmentSwitch: {kind: kindBool, def: true, policyOnly: true},
	KeyPKCS11Module:           {kind: kindString, def: ""},
	KeyDefaultOrganisation:    {kind: kindString, def: "", check: checkOrganisationNumber},
	KeyPIVManagementKeyFile:   {kind: kindString, def: "", policyOnly: true, check: checkAbsolute},
	KeyBackend:                {kind: kindString, def: "auto", check: oneOf(BackendPreferences...)}, // as cardreader.OrderBackends takes
	KeyLogLevel:               {kind: kindString, def: "info", check: oneOf("debug", "info", "warn", "error")},
	KeyLanguage:               {kind: kindString, def: "", check: oneOf("", "sv", "en")},
	KeyExpiryWarningDays: {kind: kindInts, def: []int{30, 14, 7}, check: func(v any) error {
		for _, d := range v.([]int) {
			if d < 1 || d > 365 {
				return errors.New("want whole days between 1 and 365")
			}
		}
		return nil
	}},
}

// demoDefault is whether DEMO is allowed where policy says nothing: "on"
// in development builds (make build, go test, make demo); the installed
// packages are linked with
// -X github.com/sithseid/sithseid/config.demoDefault=off (scripts/packages),
// so there only policy's allowDemo turns DEMO on. It is a string because
// -X sets strings only.
var demoDefault = "on"

// DemoDefault reports whether this build allows DEMO where policy says
// nothing (false in the installed packages).
func DemoDefault() bool { return specs[KeyAllowDemo].def.(bool) }

// SetDemoDefaultForTest makes this build behave as one linked with
// demoDefault=on (true) or off (false) until restore. Tests only.
func SetDemoDefaultForTest(on bool) (restore func()) {
	was := specs[KeyAllowDemo]
	s := was
	s.def = on
	specs[KeyAllowDemo] = s
	return func() { specs[KeyAllowDemo] = was }
}

func init() {
	specs[KeyAllowDemo] = keySpec{kind: kindBool, def: demoDefault != "off", policyOnly: true}
	specs[KeyProxy] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkProxy}
	specs[KeyHelpdeskName] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkDisplayText(maxHelpdeskName)}
	specs[KeyHelpdeskHours] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkDisplayText(maxHelpdeskHours)}
	specs[KeyHelpdeskPhone] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkPhone}
	specs[KeyHelpdeskURL] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkHelpdeskURL}
	specs[KeyAccentColour] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkColour}
	specs[KeyLogoFile] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkLogoPath}
	for _, e := range environment.Names {
		specs[EnvironmentKey(e, envKeyServiceURL)] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkHTTPS}
		specs[EnvironmentKey(e, envKeyTrustAnchorsFile)] = keySpec{kind: kindString, def: "", policyOnly: true, check: checkAbsolute}
	}
}

func checkHTTPS(v any) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	if _, err := (environment.Environment{Name: "x", ServiceURL: s}).Service(); err != nil {
		return errors.New("want an https URL")
	}
	return nil
}

// checkProxy accepts "", "direct", or a proxy's URL: http or socks5
// with a host and nothing after it. A PAC file's URL (a path, a
// query) is refused by name: this build does not evaluate PAC scripts
// (docs/admin.md, "Proxy").
func checkProxy(v any) error {
	s := v.(string)
	if s == "" || s == "direct" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return errors.New(`want a proxy's URL (http://HOST:PORT) or "direct"`)
	}
	if u.Scheme != "http" && u.Scheme != "socks5" {
		// Not https: the transport would dial such a proxy with the
		// card's TLS configuration (its certificate, the pinned roots).
		return errors.New(`want an http or socks5 proxy URL (http://HOST:PORT) or "direct"`)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("a PAC file is not supported: give the proxy itself (http://HOST:PORT)")
	}
	return nil
}

// checkDisplayText accepts "" or one line of text fit to show the user:
// the rules of oob.CheckText (no control, bidirectional or invisible
// characters) and at most max characters.
func checkDisplayText(max int) func(any) error {
	return func(v any) error {
		s := v.(string)
		if s == "" {
			return nil
		}
		if strings.TrimSpace(s) != s {
			return errors.New("leading or trailing space")
		}
		return oob.CheckText(s, max, false)
	}
}

// checkPhone accepts "" or a phone number as people write it: digits,
// spaces and a leading "+", with at least three digits.
func checkPhone(v any) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	if len(s) > maxHelpdeskPhone {
		return fmt.Errorf("longer than %d characters", maxHelpdeskPhone)
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' && i > 0 && i < len(s)-1:
		case r == '+' && i == 0:
		default:
			return errors.New(`want digits and spaces, optionally after a leading "+"`)
		}
	}
	if digits < 3 {
		return errors.New("want a phone number of at least three digits")
	}
	return nil
}

// checkHelpdeskURL accepts "" or an https URL with a host and no user
// information, at most maxHelpdeskURL characters.
func checkHelpdeskURL(v any) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	if err := oob.CheckText(s, maxHelpdeskURL, false); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil || strings.ContainsAny(s, " \t") {
		return errors.New("want an https URL")
	}
	return nil
}

// redactProxy hides the password of a proxy URL (http://user:xxxxx@host)
// for "config show" and the diagnostics archive.
func redactProxy(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// checkColour accepts "" or "#RRGGBB"; its contrast is checked apart
// (put), where a colour too faint is ignored with a warning.
func checkColour(v any) error {
	if s := v.(string); s != "" {
		if _, err := contrast.ParseHex(s); err != nil {
			return err
		}
	}
	return nil
}

// checkLogoPath accepts "" or an absolute path ending in .png.
func checkLogoPath(v any) error {
	s := v.(string)
	if s == "" {
		return nil
	}
	if !filepath.IsAbs(s) {
		return errors.New("want an absolute path")
	}
	if !strings.EqualFold(filepath.Ext(s), ".png") {
		return errors.New("want a PNG file (.png)")
	}
	return nil
}

// MaxLogoBytes bounds policy's logo file.
const MaxLogoBytes = 256 << 10

// ReadLogo reads policy's logo: a regular PNG file of at most
// MaxLogoBytes (a larger or other file is refused, not shown).
func ReadLogo(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("logo %s: not a regular file", path)
	}
	if fi.Size() > MaxLogoBytes {
		return nil, fmt.Errorf("logo %s: %d bytes, at most %d", path, fi.Size(), MaxLogoBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxLogoBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxLogoBytes {
		return nil, fmt.Errorf("logo %s: larger than %d bytes", path, MaxLogoBytes)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, fmt.Errorf("logo %s: not a PNG file", path)
	}
	return b, nil
}

func checkAbsolute(v any) error {
	if s := v.(string); s != "" && !filepath.IsAbs(s) {
		return errors.New("want an absolute path")
	}
	return nil
}

// ConfigKeys lists every configuration key, sorted.
func Keys() []string {
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// layer is one source's values, by flat key, typed as the spec says
// (string, bool, []int).
type layer map[string]any

// Config is the configuration in layers: built-in defaults, then system
// policy, then the user's preferences. Every key policy sets is locked
// (the user's value is ignored and SetUser refuses it) unless the policy
// lists it in userMayOverride; then the policy's value is the default the
// user starts from. Environment endpoints, trust anchors and
// allowEnvironmentSwitch are policy-only; environment is locked too when
// allowEnvironmentSwitch is false.
//
// A Config is not safe for concurrent SetUser calls.
type Config struct {
	policy      layer
	mayOverride []string
	user        layer
	userFile    string
	policyFrom  []string // where the policy came from, for diagnostics
	warnings    []string
}

// LoadConfig reads the system policy and the user's preferences. Unknown
// keys are kept as warnings (Warnings); a value of the wrong type, outside
// its allowed set, or an unknown environment fails the load with a
// *ConfigFileError naming the file: a policy that says something the
// product does not understand is better refused than half applied.
func Load(opts Options) (*Config, error) {
	c := &Config{policy: layer{}, user: layer{}, userFile: opts.UserFile}
	if !opts.NoSystemPolicy {
		if opts.PolicyFile != "" || opts.PolicyDir != "" {
			if err := c.readPolicyFiles(opts.PolicyFile, opts.PolicyDir); err != nil {
				return nil, err
			}
		} else if err := c.readSystemPolicy(); err != nil {
			return nil, err
		}
	}
	if c.userFile == "" {
		f, err := DefaultUserFile()
		if err != nil {
			return nil, err
		}
		c.userFile = f
	}
	if err := c.readUserFile(); err != nil {
		if !opts.LenientUser {
			return nil, err
		}
		c.user = layer{}
		c.warnings = append(c.warnings, err.Error()+" (the user's preferences are ignored)")
	}
	for k := range c.user {
		if c.lockedBy(k) != "" {
			c.warnings = append(c.warnings, fmt.Sprintf("%s: %q is locked by policy; the user's value is ignored", c.userFile, k))
		}
	}
	return c, nil
}

// readUserFile reads the user's preferences through atomicfile: a
// symbolic link planted at the file is refused, not followed (its target
// could be any file another user chose), as is a file another user owns.
func (c *Config) readUserFile() error {
	b, _, err := atomicfile.ReadPrivate(c.userFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.Is(err, atomicfile.ErrSymlink):
		return &FileError{Path: c.userFile, Err: atomicfile.ErrSymlink}
	case err != nil:
		return &FileError{Path: c.userFile, Err: err}
	}
	raw, err := decodeJSONObject(b)
	if err != nil {
		return &FileError{Path: c.userFile, Err: err}
	}
	return c.merge(c.user, raw, c.userFile, false)
}

// DefaultUserConfigFile is os.UserConfigDir()/sithseid/config.json.
func DefaultUserFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user's configuration directory: %w", err)
	}
	return filepath.Join(dir, "sithseid", "config.json"), nil
}

// readPolicyFiles reads a JSON policy file and a drop-in directory; a
// missing file or directory is no policy.
func (c *Config) readPolicyFiles(file, dir string) error {
	var files []string
	if file != "" {
		files = append(files, file)
	}
	if dir != "" {
		m, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			return &FileError{Path: dir, Err: err}
		}
		sort.Strings(m) // lexical order: 10-site.json before 20-ward.json
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return &FileError{Path: f, Err: err}
		}
		raw, err := decodeJSONObject(b)
		if err != nil {
			return &FileError{Path: f, Err: err}
		}
		if err := c.mergePolicy(raw, f); err != nil {
			return err
		}
	}
	return nil
}

// mergePolicy adds one policy source (decoded JSON, plist or registry
// values) on top of the policy read so far.
func (c *Config) mergePolicy(raw map[string]any, from string) error {
	if err := c.merge(c.policy, raw, from, true); err != nil {
		return err
	}
	c.policyFrom = append(c.policyFrom, from)
	return nil
}

func decodeJSONObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// merge checks raw (a decoded document: nested "environments") and puts
// its values into l.
func (c *Config) merge(l layer, raw map[string]any, from string, policy bool) error {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		switch {
		case k == "environments":
			envs, ok := v.(map[string]any)
			if !ok {
				return &FileError{Path: from, Err: &ValueError{Key: k, Value: short(v), Reason: "want an object of environments"}}
			}
			for name, ev := range envs {
				if !slices.Contains(environment.Names, name) {
					return &FileError{Path: from, Err: fmt.Errorf("environments: %q (want one of %s): %w", name, strings.Join(environment.Names, ", "), environment.ErrUnknown)}
				}
				fields, ok := ev.(map[string]any)
				if !ok {
					return &FileError{Path: from, Err: &ValueError{Key: "environments." + name, Value: short(ev), Reason: "want an object"}}
				}
				for f, fv := range fields {
					if err := c.put(l, EnvironmentKey(name, f), fv, from, policy); err != nil {
						return err
					}
				}
			}
		case k == KeyUserMayOverride && policy:
			list, err := coerce(KeyUserMayOverride, keySpec{kind: kindStrings}, v)
			if err != nil {
				return &FileError{Path: from, Err: err}
			}
			for _, key := range list.([]string) {
				if _, ok := specs[key]; !ok {
					c.warnings = append(c.warnings, fmt.Sprintf("%s: userMayOverride names unknown key %q", from, key))
				}
			}
			c.mayOverride = list.([]string) // a later source replaces the list
		default:
			if err := c.put(l, k, v, from, policy); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Config) put(l layer, key string, v any, from string, policy bool) error {
	spec, ok := specs[key]
	if !ok {
		c.warnings = append(c.warnings, fmt.Sprintf("%s: unknown key %q ignored", from, key))
		return nil
	}
	if spec.policyOnly && !policy {
		c.warnings = append(c.warnings, fmt.Sprintf("%s: %q may only be set by policy; ignored", from, key))
		return nil
	}
	val, err := coerce(key, spec, v)
	if err != nil {
		return &FileError{Path: from, Err: err}
	}
	if s, ok := val.(string); ok && key == KeyAccentColour && s != "" {
		if _, err := contrast.CheckAccent(s); err != nil {
			c.warnings = append(c.warnings, fmt.Sprintf("%s: accentColour %s refused: %v; the theme's own colours are used", from, s, err))
			return nil
		}
	}
	l[key] = val
	return nil
}

func short(v any) string {
	s := fmt.Sprintf("%v", v)
	if str, ok := v.(string); ok {
		s = strconv.Quote(str)
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// coerce turns a decoded value (JSON with UseNumber, plist, registry) into
// the key's type and checks it. Strings are accepted for bools and lists
// only where the source has no such type (registry REG_SZ): "true"/"1",
// "30,14,7".
func coerce(key string, spec keySpec, v any) (any, error) {
	bad := func(reason string) error { return &ValueError{Key: key, Value: short(v), Reason: reason} }
	var out any
	switch spec.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return nil, bad("want a string")
		}
		if key == KeyEnvironment {
			s = strings.ToUpper(s)
		}
		out = s
	case kindBool:
		switch b := v.(type) {
		case bool:
			out = b
		case uint64: // REG_DWORD
			out = b != 0
		default:
			return nil, bad("want true or false")
		}
	case kindInts:
		var items []any
		switch x := v.(type) {
		case []any:
			items = x
		case []int:
			for _, i := range x {
				items = append(items, json.Number(strconv.Itoa(i)))
			}
		case string: // REG_SZ "30,14,7"
			for _, f := range strings.Split(x, ",") {
				items = append(items, json.Number(strings.TrimSpace(f)))
			}
		case uint64: // REG_DWORD: one number
			items = []any{x}
		default:
			return nil, bad("want a list of whole numbers")
		}
		ints := []int{}
		for _, it := range items {
			var n int
			var err error
			switch x := it.(type) {
			case json.Number:
				n, err = strconv.Atoi(string(x))
			case int:
				n = x
			case int64:
				n = int(x)
			case uint64:
				n = int(x)
			default:
				err = errors.New("not a number")
			}
			if err != nil {
				return nil, bad("want a list of whole numbers")
			}
			ints = append(ints, n)
		}
		sort.Sort(sort.Reverse(sort.IntSlice(ints)))
		out = slices.Compact(ints)
	case kindStrings:
		var list []string
		switch x := v.(type) {
		case []any:
			for _, it := range x {
				s, ok := it.(string)
				if !ok {
					return nil, bad("want a list of strings")
				}
				list = append(list, s)
			}
		case []string: // REG_MULTI_SZ
			list = x
		case string: // REG_SZ "a,b"
			for _, f := range strings.Split(x, ",") {
				if f = strings.TrimSpace(f); f != "" {
					list = append(list, f)
				}
			}
		default:
			return nil, bad("want a list of strings")
		}
		out = list
	}
	if spec.check != nil {
		if err := spec.check(out); err != nil {
			ve := &ValueError{Key: key, Value: short(v), Reason: err.Error()}
			if errors.Is(err, environment.ErrUnknown) {
				return nil, fmt.Errorf("%w: %w", ve, environment.ErrUnknown)
			}
			return nil, ve
		}
	}
	return out, nil
}

// ParseValue parses the text form of a value (as typed after "sithseid
// config set KEY"): true/false, "30,14,7", or a string.
func ParseValue(key, text string) (any, error) {
	spec, ok := specs[key]
	if !ok {
		return nil, fmt.Errorf("%q: %w", key, ErrUnknownKey)
	}
	var v any = text
	switch spec.kind {
	case kindBool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, &ValueError{Key: key, Value: strconv.Quote(text), Reason: "want true or false"}
		}
		v = b
	case kindInts:
		v = text // coerce splits on commas
	}
	return coerce(key, spec, v)
}

// lockedBy says why the user cannot change key, or "".
func (c *Config) lockedBy(key string) LockReason {
	spec, ok := specs[key]
	if !ok {
		return ""
	}
	if spec.policyOnly {
		return LockedPolicyOnly
	}
	if _, set := c.policy[key]; set && !slices.Contains(c.mayOverride, key) {
		return LockedByPolicy
	}
	if key == KeyEnvironment && !c.value(KeyAllowEnvironmentSwitch).(bool) {
		return LockedNoSwitch
	}
	return ""
}

// Locked reports whether the user cannot change key.
func (c *Config) Locked(key string) bool { return c.lockedBy(key) != "" }

func (c *Config) lookup(key string) (any, Source) {
	spec := specs[key]
	if v, ok := c.user[key]; ok && c.lockedBy(key) == "" {
		return v, SourceUser
	}
	if v, ok := c.policy[key]; ok {
		return v, SourcePolicy
	}
	return spec.def, SourceDefault
}

func (c *Config) value(key string) any { v, _ := c.lookup(key); return v }

// Value returns key's effective value (string, bool or []int) and its
// source; ErrUnknownKey for a key that does not exist.
func (c *Config) Value(key string) (any, Source, error) {
	if _, ok := specs[key]; !ok {
		return nil, "", fmt.Errorf("%q: %w", key, ErrUnknownKey)
	}
	v, src := c.lookup(key)
	return v, src, nil
}

// Source returns the layer key's effective value comes from ("" for an
// unknown key).
func (c *Config) Source(key string) Source {
	if _, ok := specs[key]; !ok {
		return ""
	}
	_, src := c.lookup(key)
	return src
}

// Effective returns the effective values.
func (c *Config) Effective() Settings {
	s := Settings{
		Environment:            c.value(KeyEnvironment).(string),
		AllowEnvironmentSwitch: c.value(KeyAllowEnvironmentSwitch).(bool),
		PKCS11Module:           c.value(KeyPKCS11Module).(string),
		PIVManagementKeyFile:   c.value(KeyPIVManagementKeyFile).(string),
		AllowDemo:              c.value(KeyAllowDemo).(bool),
		Proxy:                  c.value(KeyProxy).(string),
		DefaultOrganisation:    c.value(KeyDefaultOrganisation).(string),
		Helpdesk: Helpdesk{
			Name:  c.value(KeyHelpdeskName).(string),
			Phone: c.value(KeyHelpdeskPhone).(string),
			URL:   c.value(KeyHelpdeskURL).(string),
			Hours: c.value(KeyHelpdeskHours).(string),
		},
		AccentColour:      c.value(KeyAccentColour).(string),
		LogoFile:          c.value(KeyLogoFile).(string),
		Backend:           c.value(KeyBackend).(string),
		LogLevel:          c.value(KeyLogLevel).(string),
		Language:          c.value(KeyLanguage).(string),
		ExpiryWarningDays: slices.Clone(c.value(KeyExpiryWarningDays).([]int)),
		Environments:      map[string]EnvironmentSettings{},
	}
	for _, e := range environment.Names {
		es := EnvironmentSettings{
			ServiceURL:       c.value(EnvironmentKey(e, envKeyServiceURL)).(string),
			TrustAnchorsFile: c.value(EnvironmentKey(e, envKeyTrustAnchorsFile)).(string),
		}
		if es != (EnvironmentSettings{}) {
			s.Environments[e] = es
		}
	}
	return s
}

// Entries lists every key with its effective value and source, sorted.
func (c *Config) Entries() []Entry {
	var out []Entry
	for _, k := range Keys() {
		v, src := c.lookup(k)
		if k == KeyProxy {
			v = redactProxy(v.(string))
		}
		out = append(out, Entry{Key: k, Value: v, Source: src, Locked: c.Locked(k)})
	}
	return out
}

// Warnings are what LoadConfig ignored: unknown keys, user values of
// locked keys. The caller logs them.
func (c *Config) Warnings() []string { return slices.Clone(c.warnings) }

// PolicySources are where the policy came from (files, registry key).
func (c *Config) PolicySources() []string { return slices.Clone(c.policyFrom) }

// UserFile is the user's preferences file.
func (c *Config) UserFile() string { return c.userFile }

// SetUser sets key to value (its text form, see ParseValue) in the user's
// preferences and writes them. A key the user cannot change returns
// *LockedError and nothing is written.
func (c *Config) SetUser(key, value string) error {
	if _, ok := specs[key]; !ok {
		return fmt.Errorf("%q: %w", key, ErrUnknownKey)
	}
	if r := c.lockedBy(key); r != "" {
		return &LockedError{Key: key, Reason: r}
	}
	v, err := ParseValue(key, value)
	if err != nil {
		return err
	}
	if key == KeyEnvironment && v == environment.DEMO && !c.DemoAllowed() {
		return &environment.TurnedOffError{Name: environment.DEMO}
	}
	next := maps(c.user)
	next[key] = v
	if err := writeUserFile(c.userFile, next); err != nil {
		return err
	}
	c.user = next
	return nil
}

// UnsetUser removes key from the user's preferences, so policy or the
// default applies again.
func (c *Config) UnsetUser(key string) error {
	if _, ok := specs[key]; !ok {
		return fmt.Errorf("%q: %w", key, ErrUnknownKey)
	}
	if r := c.lockedBy(key); r == LockedPolicyOnly {
		return &LockedError{Key: key, Reason: r}
	}
	if _, ok := c.user[key]; !ok {
		return nil
	}
	next := maps(c.user)
	delete(next, key)
	if err := writeUserFile(c.userFile, next); err != nil {
		return err
	}
	c.user = next
	return nil
}

func maps(l layer) layer {
	out := layer{}
	for k, v := range l {
		out[k] = v
	}
	return out
}

// writeUserFile writes the preferences atomically (a temporary file in the
// same directory, renamed over the old one) with mode 0600; the directory
// is made 0700 (refused when not ours) and a link planted at path is
// refused, not replaced (atomicfile; attack review, files).
func writeUserFile(path string, l layer) error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// DemoAllowed reports whether the DEMO environment may be used here:
// policy's allowDemo, else this build's default (DemoDefault).
func (c *Config) DemoAllowed() bool { return c.value(KeyAllowDemo).(bool) }

// CanSwitchEnvironment reports whether the user may pick another
// environment (a menu shows the choice only then).
func (c *Config) CanSwitchEnvironment() bool { return !c.Locked(KeyEnvironment) }

// Environment resolves the effective environment: the built-in one, with
// the service URL and trust anchors policy gives it. A placeholder
// environment policy does not complete returns ErrEnvironmentNotConfigured.
func (c *Config) Environment() (environment.Environment, error) {
	return c.EnvironmentNamed(c.value(KeyEnvironment).(string))
}

// EnvironmentNamed resolves the environment name (any case) as Environment
// does, whether or not it is the effective one.
func (c *Config) EnvironmentNamed(name string) (environment.Environment, error) {
	env, err := environment.Lookup(name)
	if err != nil {
		return env, err
	}
	es := c.Effective().Environments[env.Name]
	if es.ServiceURL != "" {
		env.ServiceURL = es.ServiceURL
	}
	if es.TrustAnchorsFile != "" {
		pem, err := os.ReadFile(es.TrustAnchorsFile)
		if err != nil {
			return env, fmt.Errorf("%s: reading trust anchors: %w", env.Name, err)
		}
		env.TrustAnchors = pem
		if _, err := env.Roots(); err != nil {
			return env, fmt.Errorf("%s: %s: %w", env.Name, es.TrustAnchorsFile, err)
		}
	}
	if env.ServiceURL != "" && len(env.TrustAnchors) > 0 {
		env.Placeholder = false
	}
	if env.Placeholder {
		return env, fmt.Errorf("%s: %w", env.Name, environment.ErrNotConfigured)
	}
	return env, nil
}

// ParseLogLevel parses debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, &ValueError{Key: KeyLogLevel, Value: strconv.Quote(s), Reason: `want "debug", "info", "warn" or "error"`}
}
