package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/sithseid/sithseid/app"
)

// removeOptions reads --yes and, with --mgmt-key-stdin, a hex management
// key as the first line of standard input (before the PIN).
func (r *runner) removeFlags(fs *flag.FlagSet) (yes, mgmtStdin *bool) {
	yes = fs.Bool("yes", false, "confirm removing the login certificate")
	mgmtStdin = fs.Bool("mgmt-key-stdin", false, "read a PIV management key (hex) as the first line of standard input")
	return yes, mgmtStdin
}

func (r *runner) removeOptions(cf *cardFlags, yes, mgmtStdin bool) (app.RemoveOptions, app.Prompt, error) {
	opts := app.RemoveOptions{ConfirmLogin: yes}
	if mgmtStdin {
		cf.pinStdin = true
	}
	prompt, err := r.prompt(cf)
	if err != nil {
		return opts, nil, err
	}
	if mgmtStdin {
		text, err := prompt(context.Background(), app.PromptRequest{Kind: app.PromptPIN, Retries: -1})
		if err != nil {
			return opts, nil, err
		}
		key, err := app.ParseManagementKey(text) // wipes text
		if err != nil {
			return opts, nil, err
		}
		opts.ManagementKey = key
	}
	return opts, prompt, nil
}

func (r *runner) certRemove(ctx context.Context, args []string) error {
	for _, a := range args {
		if a == "--eid" || a == "-eid" || strings.HasPrefix(a, "--eid=") || strings.HasPrefix(a, "-eid=") {
			return r.certRemoveEID(ctx, args)
		}
	}
	return r.removal(ctx, "cert remove", args, 1, func(ops operations, sel app.Selector, opts app.RemoveOptions, prompt app.Prompt, pos []string) ([]string, error) {
		if err := ops.RemoveCertificate(ctx, sel, pos[0], opts, prompt); err != nil {
			return nil, err
		}
		return []string{strings.ToLower(pos[0])}, nil
	})
}

func (r *runner) certRemoveExpired(ctx context.Context, args []string) error {
	return r.removal(ctx, "cert remove-expired", args, 0, func(ops operations, sel app.Selector, opts app.RemoveOptions, prompt app.Prompt, _ []string) ([]string, error) {
		return ops.RemoveExpired(ctx, sel, opts, prompt)
	})
}

// removal runs a certificate removal: flags, the management key and PIN
// source, the operations, and a line per certificate removed (also those
// removed before an error).
func (r *runner) removal(ctx context.Context, name string, args []string, positional int,
	remove func(operations, app.Selector, app.RemoveOptions, app.Prompt, []string) ([]string, error)) error {
	var cf cardFlags
	fs := r.flagSet(name, &cf)
	yes, mgmt := r.removeFlags(fs)
	pos, err := r.parse(fs, args, positional)
	if err != nil {
		return err
	}
	opts, prompt, err := r.removeOptions(&cf, *yes, *mgmt)
	if err != nil {
		return err
	}
	defer opts.ManagementKey.Wipe()
	// A management key never crosses the local API: such a removal runs
	// in-process (the agent holds no card while idle).
	ops, done, err := r.operationsUnless(ctx, &cf, opts.ManagementKey != nil)
	if err != nil {
		return err
	}
	defer done()
	removed, err := remove(ops, cf.selector(), opts, prompt, pos)
	for _, id := range removed {
		fmt.Fprintln(r.Stdout, r.cat.T("cert.removed", id))
	}
	return err
}
