package cli

import (
	"errors"

	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/usertext"
)

// Exit codes, documented in "sithseid help exit-codes" and docs/admin.md.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitNoReader      = 3
	ExitNoCard        = 4
	ExitWrongPIN      = 5
	ExitPINBlocked    = 6
	ExitWrongPUK      = 7
	ExitPUKBlocked    = 8
	ExitPINPolicy     = 9
	ExitCardRemoved   = 10
	ExitConfirm       = 11
	ExitService       = 12
	ExitUntrusted     = 13
	ExitLoginCanceled = 14
	// ExitAgentRunning: "sithseid agent" found this session's agent
	// already running. The systemd user unit does not restart on it
	// (RestartPreventExitStatus), so an XDG entry and the unit both
	// enabled do not retry every few seconds.
	ExitAgentRunning = 15
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
	// Configuration errors first: a policy naming a bad environment must
	// name the file, not just say "unknown environment".
	if m, h, code, ok := explainConfig(c, err); ok {
		return m, h, code
	}
	switch {
	case errors.Is(err, errUsage):
		return c.T("err.usage"), "", ExitUsage
	case errors.Is(err, errNoTerminal):
		return c.T("err.no_tty"), "", ExitUsage
	}
	msg, hint, class := usertext.Explain(c, err)
	return msg, hint, exitCodes[class]
}

// exitCodes are the exit codes of the classes of failure.
var exitCodes = map[usertext.Class]int{
	usertext.Failure:      ExitFailure,
	usertext.Usage:        ExitUsage,
	usertext.NoReader:     ExitNoReader,
	usertext.NoCard:       ExitNoCard,
	usertext.WrongPIN:     ExitWrongPIN,
	usertext.PINBlocked:   ExitPINBlocked,
	usertext.WrongPUK:     ExitWrongPUK,
	usertext.PUKBlocked:   ExitPUKBlocked,
	usertext.PINPolicy:    ExitPINPolicy,
	usertext.CardRemoved:  ExitCardRemoved,
	usertext.Confirm:      ExitConfirm,
	usertext.Service:      ExitService,
	usertext.Untrusted:    ExitUntrusted,
	usertext.Cancelled:    ExitLoginCanceled,
	usertext.AgentRunning: ExitAgentRunning,
}

// envError is an environment that is not configured, with its name.
type envError struct {
	name string
	err  error
}

func (e *envError) Error() string { return e.name + ": " + e.err.Error() }
func (e *envError) Unwrap() error { return e.err }

// EnvironmentName names the environment for usertext's message.
func (e *envError) EnvironmentName() string { return e.name }
