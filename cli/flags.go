package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/backends"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
)

// cardFlags are the flags every card command takes.
type cardFlags struct {
	reader, card, backend, module string
	pinStdin                      bool
}

// newFlagSet is a command's flag set: errors and the usage go to stderr;
// --help (or -h) anywhere prints the command's usage (on stderr, as the
// flag package does) and exits 0.
func (r *runner) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(r.Stderr)
	fs.Usage = func() { fmt.Fprintln(r.Stderr, r.commandUsage(name)) }
	fs.Bool("help", false, "this command's usage")
	fs.Bool("h", false, "this command's usage")
	return fs
}

// flagSet is a card command's flag set: newFlagSet with the card flags.
func (r *runner) flagSet(name string, cf *cardFlags) *flag.FlagSet {
	fs := r.newFlagSet(name)
	fs.StringVar(&cf.reader, "reader", "", "exact PC/SC reader name")
	fs.StringVar(&cf.card, "card", "", "card number")
	fs.StringVar(&cf.backend, "backend", r.s.Backend(""), backendChoices(", "))
	fs.StringVar(&cf.module, "pkcs11-module", r.s.PKCS11Module(""), "PKCS#11 module path")
	fs.BoolVar(&cf.pinStdin, "pin-stdin", false, "read PIN/PUK lines from standard input")
	return fs
}

// parse parses args into fs and returns the positional arguments, of which
// there must be positional.
func (r *runner) parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, parseError(err)
	}
	// Flags may follow positional arguments too ("cert remove 9c --yes").
	var pos []string
	rest := fs.Args()
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, parseError(err)
		}
		rest = fs.Args()
	}
	if fs.Lookup("help").Value.String() == "true" || fs.Lookup("h").Value.String() == "true" {
		fmt.Fprintln(r.Stderr, r.commandUsage(fs.Name()))
		return nil, errHelp
	}
	if len(pos) != positional {
		fs.Usage()
		return nil, errUsage
	}
	if err := r.refuseLocked(fs); err != nil {
		return nil, err
	}
	return pos, nil
}

// lockedFlags are the flags that set a configuration key (--env and
// --service are checked by startup.Session.Environment).
var lockedFlags = map[string]string{
	"backend":       config.KeyBackend,
	"pkcs11-module": config.KeyPKCS11Module,
}

// refuseLocked refuses a flag given on the command line for a key policy
// locks (*config.LockedError: exit 11 and "locked by policy"): running
// with the policy's value instead would do what the user did not ask,
// silently.
func (r *runner) refuseLocked(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if key, ok := lockedFlags[f.Name]; ok && err == nil && r.s.Locked(key) {
			err = &config.LockedError{Key: key, Reason: config.LockedByPolicy}
		}
	})
	return err
}

// parseError: -h or --help asked for the help the flag set has printed
// (errHelp, a success); anything else is a usage error.
func parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return errUsage
}

func (cf *cardFlags) selector() app.Selector {
	return app.Selector{Reader: cf.reader, CardNumber: strings.ReplaceAll(cf.card, " ", "")}
}

// service is the in-process Service with the invocation's backend and
// module (package backends).
func (r *runner) service(cf *cardFlags) (*app.Service, func(), error) {
	return backends.Service(backends.Options{
		Preference:   cf.backend,
		PKCS11Module: cf.module,
		// Policy may name a PIV management key shared by the
		// organisation's tokens; --mgmt-key-stdin still wins.
		ManagementKeyFile: r.cfg.PIVManagementKeyFile,
		Log:               r.Log,
		DeviceKey:         r.s.DeviceKey,
		// Which of several organisations' eIDs is the default (issue 15).
		EIDPreferences:      r.s.Config.EIDPreferences(),
		DefaultOrganisation: r.cfg.DefaultOrganisation,
	})
}

// prompt returns the app.Prompt for this invocation: lines from standard
// input with --pin-stdin, else the terminal without echo.
func (r *runner) prompt(cf *cardFlags) (app.Prompt, error) {
	var src secretSource
	if cf.pinStdin {
		src = newLineSource(r.Stdin)
	} else {
		f, ok := r.Stdin.(*os.File)
		if !ok {
			return nil, errNoTerminal
		}
		t, err := newTerminalSource(f, r.Stderr, r.cat.T("prompt.mismatch"))
		if err != nil {
			return nil, err
		}
		src = t
	}
	return func(ctx context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sign := req.PIN == cardreader.PINSignature
		switch {
		case req.Kind == app.PromptNewPIN && sign:
			return src.NewSecret(r.cat.T("prompt.new_sign_pin"), r.cat.T("prompt.new_sign_pin_again"))
		case req.Kind == app.PromptNewPIN:
			return src.NewSecret(r.cat.T("prompt.new_pin"), r.cat.T("prompt.new_pin_again"))
		case req.Kind == app.PromptPUK && sign && req.Retries >= 0:
			return src.Secret(r.cat.T("prompt.puk_sign_tries", req.Retries))
		case req.Kind == app.PromptPUK && req.Retries >= 0:
			return src.Secret(r.cat.T("prompt.puk_tries", req.Retries))
		case req.Kind == app.PromptPUK:
			return src.Secret(r.cat.T("prompt.puk"))
		case sign && req.Retries >= 0:
			return src.Secret(r.cat.T("prompt.sign_pin_tries", req.Retries))
		case sign:
			return src.Secret(r.cat.T("prompt.sign_pin"))
		case req.Retries >= 0:
			return src.Secret(r.cat.T("prompt.pin_tries", req.Retries))
		}
		return src.Secret(r.cat.T("prompt.pin"))
	}, nil
}
