package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/l10n"
)

// Every command of the table has its own usage, in Swedish and English:
// "sithseid COMMAND --help" (and -h, and --help after other flags) prints
// it, not the general usage, and exits 0. So does the agent role's.
func TestEveryCommandHasItsHelp(t *testing.T) {
	for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
		cat := l10n.MustLoad(lang)
		general := strings.SplitN(cat.T("usage"), "\n", 2)[0]
		for _, name := range cli.CommandNames() {
			id := cli.CommandHelpID(name)
			if !cat.Has(id) {
				t.Errorf("%s: %q has no %s text", name, id, lang)
				continue
			}
			first := strings.SplitN(cat.T(id), "\n", 2)[0]
			for _, flag := range []string{"--help", "-h"} {
				args := append(strings.Fields(name), flag)
				r := run(t, lang, args...)
				out := r.stdout + r.stderr
				if r.code != cli.ExitOK || !strings.Contains(out, first) || (name != "help" && strings.Contains(out, general)) {
					t.Errorf("%v (%s): %v", args, lang, r)
				}
			}
		}
		var out, errb bytes.Buffer
		code := agent.Run(context.Background(), agent.Env{Args: []string{"--help"}, Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"LANG": string(lang), "HOME": "/nonexistent"}[k]
		}})
		if code != cli.ExitOK || !strings.Contains(out.String(), strings.SplitN(cat.T("help.agent"), "\n", 2)[0][:20]) {
			t.Errorf("agent --help (%s): exit %d\n%s%s", lang, code, out.String(), errb.String())
		}
	}
	// After other flags too.
	r := run(t, l10n.English, "tls-check", "--json", "--help")
	if r.code != cli.ExitOK || !strings.Contains(r.stderr, "Usage: sithseid tls-check") {
		t.Errorf("tls-check --json --help: %v", r)
	}
}

func run(t *testing.T, lang l10n.Lang, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"LANG": string(lang), "SITHSEID_NO_AGENT": "1", "HOME": "/nonexistent"}
	code := cli.Run(context.Background(), cli.Env{Args: args, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Version: "test"})
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}
