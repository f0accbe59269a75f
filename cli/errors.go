package cli

import (
	"errors"

	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/uiexe"
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
