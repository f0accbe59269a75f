package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/uiexe"
	"github.com/sithseid/sithseid/internal/usertext"
)

// Exit codes, documented in "sithseid help exit-codes" and docs/admin.md
// (internal/exitcode, shared by every role).
const (
	ExitOK            = exitcode.OK
	ExitFailure       = exitcode.Failure
	ExitUsage         = exitcode.Usage
	ExitNoReader      = exitcode.NoReader
	ExitNoCard        = exitcode.NoCard
	ExitWrongPIN      = exitcode.WrongPIN
	ExitPINBlocked    = exitcode.PINBlocked
	ExitWrongPUK      = exitcode.WrongPUK
	ExitPUKBlocked    = exitcode.PUKBlocked
	ExitPINPolicy     = exitcode.PINPolicy
	ExitCardRemoved   = exitcode.CardRemoved
	ExitConfirm       = exitcode.Confirm
	ExitService       = exitcode.Service
	ExitUntrusted     = exitcode.Untrusted
	ExitLoginCanceled = exitcode.LoginCanceled
	ExitAgentRunning  = exitcode.AgentRunning
	// ExitEnvironmentOff: DEMO asked for where policy does not allow it.
	ExitEnvironmentOff = exitcode.EnvironmentOff
)

// errUsage is a command line the CLI could not make sense of.
var errUsage = errors.New("usage")

// errHelp: -h or --help, answered with the command's help (exit 0).
var errHelp = errors.New("help shown")

// explain turns an error into a sentence, a hint and an exit code, in the
// user's language. The full error chain goes to the log, never a raw status
// word to the user. The sentences are internal/usertext's, shared with the
// windows; what only the command line has (usage, terminals, configuration
// commands) is explained here.
func explain(c *l10n.Catalog, err error) (msg, hint string, code int) {
	switch {
	case errors.Is(err, errUsage):
		return c.T("err.usage"), "", ExitUsage
	case errors.Is(err, errNoTerminal):
		return c.T("err.no_tty"), "", ExitUsage
	}
	var noUI *uiexe.NotFoundError
	if errors.As(err, &noUI) && len(noUI.Tried) > 0 {
		return c.T("err.ui_missing", noUI.Tried[0]), c.T("hint.ui_missing"), ExitFailure
	}
	return exitcode.Explain(c, err)
}

// report prints err to the user as every role reports a failure: the
// sentence, then the hint, in the user's language, and for a blocked PIN
// or PUK (or no PUK at all) whom to call when policy names the region's
// helpdesk (issue 17). It returns the exit code. The caller has logged
// err; nothing here is logged.
func report(w io.Writer, c *l10n.Catalog, hd config.Helpdesk, err error) int {
	msg, hint, code := explain(c, err)
	if code == ExitPINBlocked || code == ExitPUKBlocked {
		hint = usertext.WithHelpdesk(c, hint, hd)
	}
	fmt.Fprintln(w, msg)
	if hint != "" {
		fmt.Fprintln(w, hint)
	}
	return code
}
