package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sithseid/sithseid/cardreader"
)

// command is one command of the CLI: its name (one or two words), its
// usage (a translation ID, Swedish and English in assets/translations)
// and what runs it. Each command has a file of its own with its flag set;
// "sithseid COMMAND --help" prints its usage.
type command struct {
	name string
	help string
	run  func(r *runner, ctx context.Context, args []string) error
}

// commands is the command line. The agent ("sithseid agent") and the
// windows ("sithseid ui") are roles of their own (main picks them).
var commands []command

func init() {
	commands = []command{
		{"status", "help.status", (*runner).status},
		{"certs", "help.certs", (*runner).certs},
		{"pin change", "help.pin_change", (*runner).pinChange},
		{"pin unblock", "help.pin_unblock", (*runner).pinUnblock},
		{"cert remove", "help.cert_remove", (*runner).certRemove},
		{"cert remove-expired", "help.cert_remove_expired", (*runner).certRemoveExpired},
		{"login", "help.login", (*runner).login},
		{"tls-check", "help.tls_check", (*runner).tlsCheck},
		{"qr", "help.qr", (*runner).qr},
		{"diag", "diag.usage", (*runner).diag},
		{"config", "config.usage", (*runner).config},
		{"service", "usage.service", (*runner).service_},
		{"version", "help.version", (*runner).version},
		{"help", "help.help", (*runner).help},
	}
}

// lookup finds the command args name and the arguments after its name.
func lookup(args []string) (*command, []string) {
	for i := range commands {
		c := &commands[i]
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):]
		}
	}
	return nil, nil
}

func (r *runner) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(r.Stderr, r.usageText())
		return errUsage
	}
	switch args[0] {
	case "-h", "--help":
		return r.help(ctx, args[1:])
	case "--version":
		return r.version(ctx, args[1:])
	}
	c, rest := lookup(args)
	if c == nil {
		return r.usage()
	}
	if len(rest) == 1 && (rest[0] == "--help" || rest[0] == "-h") {
		fmt.Fprintln(r.Stderr, r.commandUsage(c.name))
		return errHelp
	}
	return c.run(r, ctx, rest)
}

// help runs "help [exit-codes]": the general usage, or the exit codes.
func (r *runner) help(_ context.Context, args []string) error {
	if len(args) > 0 && args[0] == "exit-codes" {
		fmt.Fprintln(r.Stdout, r.cat.T("exit_codes"))
		return nil
	}
	fmt.Fprintln(r.Stdout, r.usageText())
	return nil
}

// version runs "version".
func (r *runner) version(context.Context, []string) error {
	fmt.Fprintf(r.Stdout, "sithseid %s\n", r.Version)
	return nil
}

func (r *runner) usage() error {
	fmt.Fprintln(r.Stderr, r.usageText())
	return errUsage
}

// backendChoices lists the values --backend (and the backend setting)
// takes, from cardreader, so a new backend appears everywhere at once.
func backendChoices(sep string) string { return strings.Join(cardreader.Preferences, sep) }

// usageText is the general usage.
func (r *runner) usageText() string { return r.cat.T("usage", backendChoices("|")) }

// commandUsage is the usage of the command named name (or of a
// subcommand of it: "config show" is config's), else the general usage.
func (r *runner) commandUsage(name string) string {
	c, _ := lookup(strings.Fields(name))
	if c == nil {
		return r.usageText()
	}
	if u := r.cat.T(c.help); !strings.Contains(u, "%s") {
		return u
	}
	return r.cat.T(c.help, backendChoices("|"))
}
