// Package exitcode is the exit codes of the sithseid command (documented
// in "sithseid help exit-codes" and docs/admin.md) and the one explanation
// of an error every role prints: a sentence, a hint and the code.
package exitcode

import (
	"errors"
	"sort"
	"strings"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/usertext"
)

// Exit codes, documented in "sithseid help exit-codes" and docs/admin.md.
const (
	OK            = 0
	Failure       = 1
	Usage         = 2
	NoReader      = 3
	NoCard        = 4
	WrongPIN      = 5
	PINBlocked    = 6
	WrongPUK      = 7
	PUKBlocked    = 8
	PINPolicy     = 9
	CardRemoved   = 10
	Confirm       = 11
	Service       = 12
	Untrusted     = 13
	LoginCanceled = 14
	// AgentRunning: "sithseid agent" found this session's agent
	// already running. The systemd user unit does not restart on it
	// (RestartPreventExitStatus), so an XDG entry and the unit both
	// enabled do not retry every few seconds.
	AgentRunning = 15
	// EnvironmentOff: the environment asked for is turned off on this
	// computer (DEMO in an installed package without policy's allowDemo).
	EnvironmentOff = 16
)

// Explain turns an error into a sentence, a hint and an exit code, in the
// user's language. The full error chain goes to the log, never a raw status
// word to the user. The sentences are internal/usertext's, shared with the
// windows; configuration errors come first (a policy naming a bad
// environment must name the file, not just say "unknown environment").
func Explain(c *l10n.Catalog, err error) (msg, hint string, code int) {
	if m, h, code, ok := explainConfig(c, err); ok {
		return m, h, code
	}
	msg, hint, class := usertext.Explain(c, err)
	return msg, hint, codes[class]
}

// codes are the exit codes of the classes of failure.
var codes = map[usertext.Class]int{
	usertext.Failure:        Failure,
	usertext.Usage:          Usage,
	usertext.NoReader:       NoReader,
	usertext.NoCard:         NoCard,
	usertext.WrongPIN:       WrongPIN,
	usertext.PINBlocked:     PINBlocked,
	usertext.WrongPUK:       WrongPUK,
	usertext.PUKBlocked:     PUKBlocked,
	usertext.PINPolicy:      PINPolicy,
	usertext.CardRemoved:    CardRemoved,
	usertext.Confirm:        Confirm,
	usertext.Service:        Service,
	usertext.Untrusted:      Untrusted,
	usertext.Cancelled:      LoginCanceled,
	usertext.AgentRunning:   AgentRunning,
	usertext.EnvironmentOff: EnvironmentOff,
}

// explainConfig is explain's part for configuration errors: a locked key
// exits with Confirm (11, "refused, nothing done"), a bad key or value
// with Usage. ok is false for other errors.
func explainConfig(c *l10n.Catalog, err error) (msg, hint string, code int, ok bool) {
	var (
		locked *config.LockedError
		value  *config.ValueError
		file   *config.FileError
	)
	switch {
	case errors.As(err, &locked):
		switch locked.Reason {
		case config.LockedPolicyOnly:
			return c.T("err.config_policy_only", locked.Key), c.T("hint.config_locked"), Confirm, true
		case config.LockedNoSwitch:
			return c.T("err.config_no_switch"), c.T("hint.config_locked"), Confirm, true
		}
		return c.T("err.config_locked", locked.Key), c.T("hint.config_locked"), Confirm, true
	case errors.As(err, &file):
		return c.T("err.config_file", file.Path, file.Err.Error()), c.T("hint.config_file"), Failure, true
	case errors.Is(err, config.ErrUnknownKey):
		keys := config.Keys()
		sort.Strings(keys)
		return c.T("err.config_unknown_key"), c.T("hint.config_keys", strings.Join(keys, ", ")), Usage, true
	case errors.As(err, &value):
		return c.T("err.config_value", value.Key, value.Reason), "", Usage, true
	}
	return "", "", 0, false
}
