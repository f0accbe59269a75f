package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
)

// policyOverride replaces the system policy for tests (see
// config_export_test.go); nil in the product, where the policy is what IT
// installed and no flag or variable of the user's can replace it.
var policyOverride *config.Options

// configOptions says where "config" and "diag" read: the system policy,
// and the user's preferences under XDG_CONFIG_HOME as the invocation sees
// it (os.UserConfigDir's rule on Linux).
func (r *runner) configOptions() config.Options {
	var o config.Options
	if policyOverride != nil {
		o = *policyOverride
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if x := r.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
			o.UserFile = filepath.Join(x, "sithseid", "config.json")
		} else if h := r.Getenv("HOME"); h != "" && o.UserFile == "" {
			o.UserFile = filepath.Join(h, ".config", "sithseid", "config.json")
		}
	}
	return o
}

func (r *runner) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(r.configOptions())
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		r.Log.Warn("configuration", "warning", w)
	}
	return cfg, nil
}

// config runs "config show [--json]", "config set KEY VALUE" and "config
// unset KEY".
func (r *runner) config(_ context.Context, args []string) error {
	if len(args) == 0 {
		return r.usage()
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("config "+sub, flag.ContinueOnError)
	fs.SetOutput(r.Stderr)
	fs.Usage = func() { fmt.Fprintln(r.Stderr, r.cat.T("config.usage")) }
	switch sub {
	case "show":
		asJSON := fs.Bool("json", false, "JSON output")
		if _, err := parse(fs, rest, 0); err != nil {
			return err
		}
		cfg, err := r.loadConfig()
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(r.Stdout, configJSON{
				Entries:       cfg.Entries(),
				PolicySources: nonNil(cfg.PolicySources()),
				UserFile:      cfg.UserFile(),
				Warnings:      nonNil(cfg.Warnings()),
			})
		}
		r.printConfig(cfg)
		return nil
	case "set":
		pos, err := parse(fs, rest, 2)
		if err != nil {
			return err
		}
		cfg, err := r.loadConfig()
		if err != nil {
			return err
		}
		if err := cfg.SetUser(pos[0], pos[1]); err != nil {
			return err
		}
		v, _, _ := cfg.Value(pos[0])
		fmt.Fprintln(r.Stdout, r.cat.T("config.set", pos[0], formatValue(v)))
		return nil
	case "unset":
		pos, err := parse(fs, rest, 1)
		if err != nil {
			return err
		}
		cfg, err := r.loadConfig()
		if err != nil {
			return err
		}
		if err := cfg.UnsetUser(pos[0]); err != nil {
			return err
		}
		v, src, _ := cfg.Value(pos[0])
		fmt.Fprintln(r.Stdout, r.cat.T("config.unset", pos[0], formatValue(v), r.sourceName(src)))
		return nil
	}
	fmt.Fprintln(r.Stderr, r.cat.T("config.usage"))
	return errUsage
}

// configJSON is "config show --json", a documented interface
// (docs/admin.md).
type configJSON struct {
	Entries       []config.Entry `json:"entries"`
	PolicySources []string       `json:"policySources"`
	UserFile      string         `json:"userFile"`
	Warnings      []string       `json:"warnings"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (r *runner) printConfig(cfg *config.Config) {
	tw := tabwriter.NewWriter(r.Stdout, 0, 4, 2, ' ', 0)
	for _, e := range cfg.Entries() {
		src := r.sourceName(e.Source)
		if e.Locked && e.Source == config.SourcePolicy {
			src = r.cat.T("config.source_locked")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Key, formatValue(e.Value), src)
	}
	tw.Flush()
	srcs := cfg.PolicySources()
	if len(srcs) == 0 {
		fmt.Fprintln(r.Stdout, r.cat.T("config.no_policy"))
	} else {
		fmt.Fprintln(r.Stdout, r.cat.T("config.policy_from", strings.Join(srcs, ", ")))
	}
	fmt.Fprintln(r.Stdout, r.cat.T("config.user_file", cfg.UserFile()))
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(r.Stdout, r.cat.T("config.warning", w))
	}
}

func (r *runner) sourceName(s config.Source) string {
	switch s {
	case config.SourcePolicy:
		return r.cat.T("config.source_policy")
	case config.SourceUser:
		return r.cat.T("config.source_user")
	}
	return r.cat.T("config.source_default")
}

// formatValue prints a value as "config set" takes it back.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return `""`
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case []int:
		s := make([]string, len(x))
		for i, n := range x {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprint(v)
}

// explainConfig is explain's part for configuration errors: a locked key
// exits with ExitConfirm (11, "refused, nothing done"), a bad key or value
// with ExitUsage. ok is false for other errors.
func explainConfig(c *l10n.Catalog, err error) (msg, hint string, code int, ok bool) {
	var (
		locked *config.LockedError
		value  *config.ValueError
		file   *config.FileError
	)
	switch {
	case errors.As(err, &locked):
		switch locked.Reason {
		case config.LockedPolicyOnly:
			return c.T("err.config_policy_only", locked.Key), c.T("hint.config_locked"), ExitConfirm, true
		case config.LockedNoSwitch:
			return c.T("err.config_no_switch"), c.T("hint.config_locked"), ExitConfirm, true
		}
		return c.T("err.config_locked", locked.Key), c.T("hint.config_locked"), ExitConfirm, true
	case errors.As(err, &file):
		return c.T("err.config_file", file.Path, file.Err.Error()), c.T("hint.config_file"), ExitFailure, true
	case errors.Is(err, config.ErrUnknownKey):
		keys := config.Keys()
		sort.Strings(keys)
		return c.T("err.config_unknown_key"), c.T("hint.config_keys", strings.Join(keys, ", ")), ExitUsage, true
	case errors.As(err, &value):
		return c.T("err.config_value", value.Key, value.Reason), "", ExitUsage, true
	}
	return "", "", 0, false
}
