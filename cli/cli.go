// Package cli is the command line of SITHS eID for helpdesk and scripts:
// status, certs, pin change/unblock, cert remove, login and tls-check. It
// runs the app package's operations in-process and speaks Swedish or
// English by locale. Only this package and ui write sentences for people.
//
// Exit codes are constants here (ExitOK ...) and documented in
// "sithseid help exit-codes" and docs/admin.md.
package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/backends"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/startup"
)

// Env is what a CLI invocation sees of its process.
type Env struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Version is the build's version string.
	Version string
	// Log receives the full error chains (nil: discarded, unless
	// LogToFile).
	Log *slog.Logger
	// LogToFile opens the product's log file (app.OpenLog) at the
	// configured level when Log is nil: main sets it, tests do not.
	LogToFile bool
}

// Run runs one command and returns its exit code, having printed what the
// user needs to read.
func Run(ctx context.Context, e Env) int {
	// One start-up path (internal to every role): the configuration
	// (defaults < policy < user) sets the language, the backend, the
	// module and the environment; variables and flags of this invocation
	// come on top where policy allows. "config" runs without the log file.
	s := startup.Start(startup.Env{Getenv: e.Getenv, Log: e.Log, LogToFile: e.LogToFile && !isConfigCommand(e.Args)})
	defer s.Close()
	e.Getenv, e.Log = s.Getenv, s.Log
	r := &runner{Env: e, s: s, cfg: s.Settings, config_: s.Config}
	langFlag, args := splitLang(e.Args)
	r.cat = s.Catalog(langFlag)
	err := s.ConfigErr
	if err == nil || isConfigCommand(args) {
		err = r.dispatch(ctx, args)
	}
	if err == nil || errors.Is(err, errHelp) {
		return ExitOK
	}
	e.Log.Info("command failed", "cmd", commandName(args), "err", err)
	msg, hint, code := explain(r.cat, err)
	fmt.Fprintln(e.Stderr, msg)
	if hint != "" {
		fmt.Fprintln(e.Stderr, hint)
	}
	return code
}

// commandName is what the log says of a command line: the command and its
// subcommand, never its arguments. A sithseid: link carries the order's
// autostart token, a live secret while the order is pending
// (docs/protocol.md), and other arguments may be file names or IDs.
func commandName(args []string) string {
	if len(args) == 0 {
		return ""
	}
	name := args[0]
	if !isWord(name) {
		return "[argument]"
	}
	switch name {
	case "pin", "cert", "config", "service", "help":
		if len(args) > 1 && isWord(args[1]) {
			name += " " + args[1]
		}
	}
	return name
}

// isWord reports whether s looks like a command word (lowercase letters
// and dashes), not a link, path, flag or value.
func isWord(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return s[0] != '-'
}

// splitLang takes a --lang flag from anywhere in args (the language then
// follows startup.Session.Lang: the flag, SITHSEID_LANG, the
// configuration, the locale).
func splitLang(args []string) (flag string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--lang" && i+1 < len(args):
			flag = args[i+1]
			i++
		case strings.HasPrefix(a, "--lang="):
			flag = strings.TrimPrefix(a, "--lang=")
		default:
			rest = append(rest, a)
		}
	}
	return flag, rest
}

type runner struct {
	Env
	s       *startup.Session
	cat     *l10n.Catalog
	cfg     config.Settings // effective configuration (zero when it failed to load)
	config_ *config.Config  // nil when it failed to load
}

// isConfigCommand: "config", "help" and "version" run even when the
// configuration does not load, to show or mend it.
func isConfigCommand(args []string) bool {
	return len(args) > 0 && (args[0] == "config" || args[0] == "help" || args[0] == "version" || args[0] == "--version")
}

func (r *runner) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(r.Stderr, r.usageText())
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		if len(rest) > 0 && rest[0] == "exit-codes" {
			fmt.Fprintln(r.Stdout, r.cat.T("exit_codes"))
			return nil
		}
		fmt.Fprintln(r.Stdout, r.usageText())
		return nil
	case "version", "--version":
		fmt.Fprintf(r.Stdout, "sithseid %s\n", r.Version)
		return nil
	case "status":
		return r.status(ctx, rest)
	case "certs":
		return r.certs(ctx, rest)
	case "pin":
		if len(rest) == 0 {
			return r.usage()
		}
		switch rest[0] {
		case "change":
			return r.pinChange(ctx, rest[1:])
		case "unblock":
			return r.pinUnblock(ctx, rest[1:])
		}
		return r.usage()
	case "cert":
		if len(rest) == 0 {
			return r.usage()
		}
		switch rest[0] {
		case "remove":
			return r.certRemove(ctx, rest[1:])
		case "remove-expired":
			return r.certRemoveExpired(ctx, rest[1:])
		}
		return r.usage()
	case "login":
		return r.login(ctx, rest)
	case "tls-check":
		return r.tlsCheck(ctx, rest)
	case "qr":
		return r.qr(ctx, rest)
	case "diag":
		return r.diag(ctx, rest)
	case "config":
		return r.config(ctx, rest)
	case "service":
		return r.service_(ctx, rest)
	}
	return r.usage()
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

// commandUsage is a command's own help where it has one ("help.pin_change"
// for "pin change"), else the general usage.
func (r *runner) commandUsage(name string) string {
	if id := "help." + strings.ReplaceAll(name, " ", "_"); r.cat.Has(id) {
		return r.cat.T(id, backendChoices("|"))
	}
	return r.usageText()
}

// cardFlags are the flags every card command takes.
type cardFlags struct {
	reader, card, backend, module string
	pinStdin                      bool
}

func (r *runner) flagSet(name string, cf *cardFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(r.Stderr)
	fs.Usage = func() { fmt.Fprintln(r.Stderr, r.commandUsage(name)) }
	fs.StringVar(&cf.reader, "reader", "", "exact PC/SC reader name")
	fs.StringVar(&cf.card, "card", "", "card number")
	fs.StringVar(&cf.backend, "backend", r.s.Backend(""), backendChoices(", "))
	fs.StringVar(&cf.module, "pkcs11-module", r.s.PKCS11Module(""), "PKCS#11 module path")
	fs.BoolVar(&cf.pinStdin, "pin-stdin", false, "read PIN/PUK lines from standard input")
	return fs
}

func parse(fs *flag.FlagSet, args []string, positional int) ([]string, error) {
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
	if len(pos) != positional {
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
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

func (r *runner) status(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("status", &cf)
	asJSON := fs.Bool("json", false, "JSON output")
	showPN := fs.Bool("show-personal-number", false, "show personal numbers unmasked")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	svc, done, err := r.operations(ctx, &cf)
	if err != nil {
		return err
	}
	defer done()
	st, err := svc.Status(ctx, app.StatusOptions{Select: cf.selector(), ShowPersonalNumber: *showPN, ExpiryWarning: r.cfg.ExpiryWarning()})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(r.Stdout, st)
	}
	r.printStatus(st)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *runner) printStatus(st *app.Status) {
	c, w := r.cat, r.Stdout
	if len(st.Readers) == 0 && len(st.Cards) == 0 {
		fmt.Fprintln(w, c.T("status.no_readers"))
		return
	}
	for _, rd := range st.Readers {
		state := c.T("status.reader_empty")
		switch {
		case rd.Busy:
			state = c.T("status.reader_busy")
		case rd.Unsupported:
			state = c.T("status.reader_unsupported")
		case rd.CardPresent:
			state = c.T("status.reader_card")
		}
		fmt.Fprintln(w, c.T("status.reader", rd.Name, state))
	}
	for _, cs := range st.Cards {
		fmt.Fprintln(w)
		where := cs.Reader
		if where == "" {
			where = "PKCS#11"
		}
		fmt.Fprintln(w, c.T("status.card", cs.CardNumber, where, cs.Backend))
		// Rows are gathered first and aligned on the longest label.
		type line struct{ label, value string }
		var lines []line
		row := func(label, value string) {
			if value != "" {
				lines = append(lines, line{label + ":", value})
			}
		}
		row(c.T("status.holder"), cs.Holder.Name)
		row(c.T("status.hsaid"), cs.Holder.HSAID)
		row(c.T("status.personal_number"), cs.Holder.PersonalNumber)
		if cs.Issuer != "" {
			iss := cs.Issuer
			if cs.LoA > 0 {
				iss += fmt.Sprintf(" (LoA %d)", cs.LoA)
			}
			if cs.Reserve {
				iss += ", " + c.T("status.reserve")
			}
			row(c.T("status.issuer"), iss)
		}
		if cs.NotBefore != nil && cs.NotAfter != nil {
			row(c.T("status.valid"), cs.NotBefore.Format("2006-01-02")+" – "+cs.NotAfter.Format("2006-01-02"))
		}
		if cs.SignaturePIN != nil {
			// Two PINs: name each, the identification PIN (login) first.
			row(c.T("status.id_pin"), r.tries(cs.PIN))
			row(c.T("status.sign_pin"), r.tries(*cs.SignaturePIN))
		} else {
			row(c.T("status.pin"), r.tries(cs.PIN))
		}
		if cs.PUK == nil {
			row(c.T("status.puk"), c.T("status.no_puk"))
		} else {
			row(c.T("status.puk"), r.tries(*cs.PUK))
		}
		login := ""
		for _, ct := range cs.Certificates {
			if ct.Login {
				login = ct.ID
			}
		}
		certs := fmt.Sprint(len(cs.Certificates))
		if login != "" {
			certs += " (" + c.T("status.login_cert", login) + ")"
		}
		row(c.T("status.certificates"), certs)
		width := 0
		for _, l := range lines {
			width = max(width, utf8.RuneCountInString(l.label))
		}
		for _, l := range lines {
			fmt.Fprintf(w, "  %s%s %s\n", l.label, strings.Repeat(" ", width-utf8.RuneCountInString(l.label)), l.value)
		}
		for _, wn := range cs.Warnings {
			fmt.Fprintln(w, "  ! "+r.warning(wn))
		}
		if cs.Error != "" {
			msg, _, _ := explain(c, cs.Err())
			fmt.Fprintln(w, "  ! "+c.T("status.error", msg))
		}
	}
}

func (r *runner) tries(s app.SecretStatus) string {
	switch {
	case s.Blocked:
		return r.cat.T("status.blocked")
	case s.Retries < 0:
		return r.cat.T("status.tries_unknown")
	}
	return r.cat.T("status.tries", s.Retries)
}

func (r *runner) warning(w app.Warning) string {
	switch w.Code {
	case app.WarnCertificateExpired:
		return r.cat.T("warn."+w.Code, w.CertID)
	case app.WarnCertificateExpiring:
		return r.cat.T("warn."+w.Code, w.CertID, w.Days)
	case app.WarnTooManyCertificates:
		return r.cat.T("warn."+w.Code, w.Days)
	}
	return r.cat.T("warn." + w.Code)
}

func (r *runner) certs(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("certs", &cf)
	asJSON := fs.Bool("json", false, "JSON output")
	export := fs.String("export", "", "write the certificates to this directory")
	format := fs.String("format", "pem", "export format: pem or der")
	showPN := fs.Bool("show-personal-number", false, "show personal numbers unmasked")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	if *export != "" {
		files, err := svc.Export(ctx, cf.selector(), *export, app.ExportFormat(strings.ToLower(*format)))
		for _, f := range files {
			if !*asJSON {
				fmt.Fprintln(r.Stdout, r.cat.T("certs.exported", f.Path))
			}
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(r.Stdout, files)
		}
		return nil
	}
	sel := cf.selector()
	st, err := svc.Status(ctx, app.StatusOptions{Select: sel, ShowPersonalNumber: *showPN, ExpiryWarning: r.cfg.ExpiryWarning()})
	if err != nil {
		return err
	}
	if len(st.Cards) == 0 {
		return cardreader.ErrNoCard
	}
	if len(st.Cards) > 1 {
		return cardreader.ErrAmbiguousCard
	}
	cs := st.Cards[0]
	if *asJSON {
		return writeJSON(r.Stdout, cs.Certificates)
	}
	if len(cs.Certificates) == 0 {
		fmt.Fprintln(r.Stdout, r.cat.T("certs.none"))
	}
	for _, ct := range cs.Certificates {
		flags := ""
		if ct.Login {
			flags += r.cat.T("certs.login")
		}
		if ct.Expired {
			flags += r.cat.T("certs.expired")
		}
		fmt.Fprintln(r.Stdout, r.cat.T("certs.line", ct.ID, r.cat.T("usage."+ct.Usage), r.cat.T("kind."+ct.Kind),
			ct.Subject, ct.NotAfter.Format("2006-01-02"), flags))
	}
	for _, wn := range cs.Warnings {
		if wn.Code == app.WarnTooManyCertificates || wn.Code == app.WarnCertificateExpired {
			fmt.Fprintln(r.Stdout, "! "+r.warning(wn))
		}
	}
	return nil
}

func (r *runner) pinChange(ctx context.Context, args []string) error {
	return r.pinOperation(ctx, "pin change", args, operations.ChangePIN, "pin.changed", "pin.sign_changed")
}

func (r *runner) pinUnblock(ctx context.Context, args []string) error {
	return r.pinOperation(ctx, "pin unblock", args, operations.UnblockPIN, "pin.unblocked", "pin.sign_unblocked")
}

// pinOperation runs a PIN change or unblock on the identification PIN, or
// with --signature on the signature PIN: flags, prompt, service, op, and
// the message on success.
func (r *runner) pinOperation(ctx context.Context, name string, args []string,
	op func(operations, context.Context, app.Selector, cardreader.PINRef, app.Prompt) error, done, signDone string) error {
	var cf cardFlags
	fs := r.flagSet(name, &cf)
	signature := fs.Bool("signature", false, "the signature PIN instead of the identification PIN")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	pin := cardreader.PINIdentification
	if *signature {
		pin, done = cardreader.PINSignature, signDone
	}
	prompt, err := r.prompt(&cf)
	if err != nil {
		return err
	}
	svc, closeSvc, err := r.operations(ctx, &cf)
	if err != nil {
		return err
	}
	defer closeSvc()
	if err := op(svc, ctx, cf.selector(), pin, prompt); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T(done))
	return nil
}

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
	pos, err := parse(fs, args, positional)
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

// environment is the invocation's environment (startup.Session.Environment:
// --env, SITHSEID_ENV, the configuration; --service, SITHSEID_SERVICE_URL).
func (r *runner) environment(name, service string) (environment.Environment, error) {
	return r.s.Environment(name, service)
}

func (r *runner) login(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("login", &cf)
	envName := fs.String("env", "", "environment: PROD, QA, TEST or DEMO")
	service := fs.String("service", "", "identity service URL (trust anchors stay the environment's)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	env, err := r.environment(*envName, *service)
	if err != nil {
		return err
	}
	prompt, err := r.prompt(&cf)
	if err != nil {
		return err
	}
	// The agent logs in to its own environment: a login to another one
	// (--env, --service) runs in-process.
	svc, done, err := r.operationsUnless(ctx, &cf, *envName != "" || *service != "")
	if err != nil {
		return err
	}
	defer done()
	res, err := svc.Login(ctx, app.LoginRequest{
		Link:   pos[0],
		Select: cf.selector(),
		Env:    env,
		Prompt: prompt,
		Approve: func(_ context.Context, a app.LoginApproval) error {
			// Who asks, and what for, before the PIN: typing the PIN is
			// the approval.
			fmt.Fprintln(r.Stderr, r.cat.T("login.asks", a.RelyingParty))
			if a.Text != "" {
				fmt.Fprintln(r.Stderr, r.cat.T("login.text", a.Text))
			}
			fmt.Fprintln(r.Stderr, r.cat.T("login.as", a.Holder, a.HSAID, a.CardNumber))
			return nil
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T("login.done", res.RelyingParty, res.HSAID))
	if res.Redirect != "" {
		fmt.Fprintln(r.Stdout, r.cat.T("login.redirect", res.Redirect))
	}
	return nil
}

func (r *runner) tlsCheck(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("tls-check", &cf)
	envName := fs.String("env", "", "environment whose trust anchors to use")
	caFile := fs.String("ca", "", "PEM file of extra trust anchors for the server")
	tls12 := fs.Bool("tls12", false, "cap at TLS 1.2")
	asJSON := fs.Bool("json", false, "JSON output")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	anchors := 0
	// The environment in effect (--env, SITHSEID_ENV, else the configured
	// one, with the endpoints and anchors policy gives it) supplies the
	// trust anchors; --ca adds to them, or stands alone when the
	// environment has none and none was asked for by name.
	name := *envName
	env, err := r.environment(name, "")
	switch {
	case err == nil:
		name = env.Name
		if len(env.TrustAnchors) > 0 && roots.AppendCertsFromPEM(env.TrustAnchors) {
			anchors++
		}
	case *caFile == "" || name != "" || !errors.Is(err, environment.ErrNotConfigured):
		return err
	}
	if *caFile != "" {
		pemBytes, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		if !roots.AppendCertsFromPEM(pemBytes) {
			return fmt.Errorf("%s: no PEM certificates", *caFile)
		}
		anchors++
	}
	if anchors == 0 {
		return &environment.NotConfiguredError{Name: name}
	}
	prompt, err := r.prompt(&cf)
	if err != nil {
		return err
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	req := app.TLSCheckRequest{URL: pos[0], Select: cf.selector(), Roots: roots, Prompt: prompt}
	if *tls12 {
		req.MaxVersion = tls.VersionTLS12
	}
	rep, err := svc.TLSCheck(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(r.Stdout, rep)
	}
	fmt.Fprintln(r.Stdout, r.cat.T("tls.ok", rep.Status, rep.URL, rep.Protocol, rep.CipherSuite, rep.Resumed, rep.Signatures))
	fmt.Fprintln(r.Stdout, r.cat.T("tls.server", rep.ServerSubject, rep.ServerIssuer))
	fmt.Fprintln(r.Stdout, r.cat.T("tls.client", rep.ClientSubject))
	return nil
}

// qr writes the current animated QR code of an order to a PNG file, for
// finishing the login on the phone.
func (r *runner) qr(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("qr", &cf)
	envName := fs.String("env", "", "environment: PROD, QA, TEST or DEMO")
	service := fs.String("service", "", "identity service URL (trust anchors stay the environment's)")
	out := fs.String("out", "", "PNG file to write")
	size := fs.Int("size", 320, "image size in pixels")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errUsage
	}
	env, err := r.environment(*envName, *service)
	if err != nil {
		return err
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	h, err := svc.QR(ctx, pos[0], env, *size)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, h.PNG, 0o600); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T("qr.written", *out, int(h.ValidFor.Seconds())))
	return nil
}
