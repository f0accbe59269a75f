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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sithseid/sithseid/config"
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
	// LogToFile opens the product's log file (logfile.Open, through startup) at the
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
	// A locked setting wins over the invocation's variables and --lang;
	// say so rather than leave the user wondering.
	for _, v := range s.IgnoredVariables() {
		fmt.Fprintln(e.Stderr, r.cat.T("warn.setting_locked_ignored", v.Name, v.Key))
	}
	if langFlag != "" && s.Locked(config.KeyLanguage) {
		fmt.Fprintln(e.Stderr, r.cat.T("warn.setting_locked_ignored", "--lang", config.KeyLanguage))
	}
	err := s.ConfigErr
	if err == nil || isConfigCommand(args) {
		err = r.dispatch(ctx, args)
	}
	if err == nil || errors.Is(err, errHelp) {
		return ExitOK
	}
	e.Log.Info("command failed", "cmd", commandName(args), "err", err)
	return report(e.Stderr, r.cat, r.cfg.Helpdesk, err)
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
