package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/startup"
)

// configOptions says where "config" and "diag" read
// (startup.ConfigOptions).
func (r *runner) configOptions() config.Options { return startup.ConfigOptions(r.Getenv) }

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
	fs := r.newFlagSet("config " + sub)
	switch sub {
	case "show":
		asJSON := fs.Bool("json", false, "JSON output")
		if _, err := r.parse(fs, rest, 0); err != nil {
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
		pos, err := r.parse(fs, rest, 2)
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
		pos, err := r.parse(fs, rest, 1)
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
