package cli

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
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
)

// errUsage is a command line the CLI could not make sense of.
var errUsage = errors.New("usage")

// explain turns an error into a sentence, a hint and an exit code, in the
// user's language. The full error chain goes to the log, never a raw status
// word to the user.
func explain(c *l10n.Catalog, err error) (msg, hint string, code int) {
	var (
		wrongPIN  *cardreader.WrongPINError
		wrongPUK  *cardreader.WrongPUKError
		policy    *cardreader.PINPolicyError
		untrusted *mtls.UntrustedServerError
		notAcc    *mtls.CertificateNotAcceptedError
		version   *mtls.ProtocolVersionError
		svc       *oob.ServiceError
		netErr    net.Error
		exists    *os.PathError
	)
	// Configuration errors first: a policy naming a bad environment must
	// name the file, not just say "unknown environment".
	if m, h, code, ok := explainConfig(c, err); ok {
		return m, h, code
	}
	switch {
	case errors.Is(err, errUsage):
		return c.T("err.usage"), "", ExitUsage
	case errors.Is(err, app.ErrCancelled), errors.Is(err, context.Canceled):
		return c.T("err.cancelled"), "", ExitLoginCanceled
	case errors.As(err, &wrongPIN):
		if wrongPIN.Retries == 0 {
			return c.T("err.pin_blocked"), c.T("hint.pin_blocked"), ExitPINBlocked
		}
		if wrongPIN.Retries == 1 {
			return c.T("err.wrong_pin_last"), "", ExitWrongPIN
		}
		return c.T("err.wrong_pin", wrongPIN.Retries), "", ExitWrongPIN
	case errors.As(err, &wrongPUK):
		if wrongPUK.Retries == 0 {
			return c.T("err.puk_blocked"), c.T("hint.puk_blocked"), ExitPUKBlocked
		}
		return c.T("err.wrong_puk", wrongPUK.Retries), "", ExitWrongPUK
	case errors.Is(err, cardreader.ErrPINBlocked):
		return c.T("err.pin_blocked"), c.T("hint.pin_blocked"), ExitPINBlocked
	case errors.Is(err, cardreader.ErrPUKBlocked):
		return c.T("err.puk_blocked"), c.T("hint.puk_blocked"), ExitPUKBlocked
	case errors.Is(err, cardreader.ErrNoPUK):
		return c.T("err.no_puk"), c.T("hint.no_puk"), ExitPUKBlocked
	case errors.As(err, &policy):
		if policy.Reason == cardreader.PUKWrongLength {
			return c.T("err.puk_format"), "", ExitPINPolicy
		}
		return c.T("err.pin_policy", c.T(policyKey(policy.Reason))), "", ExitPINPolicy
	case errors.Is(err, app.ErrSamePIN):
		return c.T("err.same_pin"), "", ExitPINPolicy
	case errors.Is(err, cardreader.ErrCardRemoved):
		return c.T("err.card_removed"), c.T("hint.card_removed"), ExitCardRemoved
	case errors.Is(err, cardreader.ErrNoService):
		return c.T("err.no_service"), c.T("hint.no_service"), ExitNoReader
	case errors.Is(err, cardreader.ErrNoReader):
		return c.T("err.no_reader"), c.T("hint.no_reader"), ExitNoReader
	case errors.Is(err, cardreader.ErrAmbiguousCard):
		return c.T("err.ambiguous"), c.T("hint.ambiguous"), ExitNoCard
	case errors.Is(err, cardreader.ErrNoCard):
		return c.T("err.no_card"), c.T("hint.no_card"), ExitNoCard
	case errors.Is(err, cardreader.ErrCardBusy):
		return c.T("err.card_busy"), c.T("hint.card_busy"), ExitNoCard
	case errors.Is(err, cardreader.ErrUnsupportedCard):
		return c.T("err.unsupported"), c.T("hint.unsupported"), ExitNoCard
	case errors.Is(err, cardreader.ErrCertificateNotFound):
		return c.T("err.cert_not_found"), c.T("hint.cert_not_found"), ExitConfirm
	case errors.Is(err, app.ErrConfirmLogin):
		return c.T("err.confirm_login"), c.T("hint.confirm_login"), ExitConfirm
	case errors.Is(err, app.ErrNothingExpired):
		return c.T("err.nothing_expired"), "", ExitConfirm
	case errors.Is(err, cardreader.ErrManagementKey):
		return c.T("err.mgmt_key"), c.T("hint.mgmt_key"), ExitFailure
	case errors.Is(err, app.ErrBadLink):
		return c.T("err.bad_link"), "", ExitUsage
	case errors.Is(err, app.ErrNoLoginCertificate):
		return c.T("err.no_login_cert"), "", ExitNoCard
	case errors.Is(err, app.ErrLoginCertificateExpired):
		return c.T("err.login_cert_expired"), c.T("hint.login_cert_expired"), ExitNoCard
	case errors.Is(err, app.ErrUnknownEnvironment):
		return c.T("err.unknown_env"), "", ExitUsage
	case errors.Is(err, app.ErrEnvironmentNotConfigured):
		return c.T("err.env_not_configured", envName(err)), c.T("hint.env_not_configured"), ExitService
	case errors.Is(err, oob.ErrExpired):
		return c.T("err.expired"), c.T("hint.expired"), ExitLoginCanceled
	case errors.Is(err, oob.ErrAlreadyCompleted):
		return c.T("err.already_completed"), c.T("hint.expired"), ExitLoginCanceled
	case errors.Is(err, oob.ErrRateLimited):
		return c.T("err.rate_limited"), c.T("hint.rate_limited"), ExitService
	case errors.Is(err, oob.ErrMalformedReply), errors.Is(err, oob.ErrRedirect):
		return c.T("err.malformed"), c.T("hint.malformed"), ExitService
	case errors.As(err, &untrusted):
		if untrusted.LikelyInspectingProxy {
			return c.T("err.untrusted_proxy", untrusted.Issuer), c.T("hint.untrusted_proxy"), ExitUntrusted
		}
		return c.T("err.untrusted", untrusted.Issuer), "", ExitUntrusted
	case errors.As(err, &notAcc):
		return c.T("err.cert_not_accepted"), c.T("hint.cert_not_accepted"), ExitService
	case errors.As(err, &version):
		return c.T("err.tls_version"), c.T("hint.tls_version"), ExitService
	case errors.As(err, &svc):
		code := svc.Code
		if code == "" {
			code = httpStatus(svc.Status)
		}
		return c.T("err.service", code), "", ExitService
	case errors.As(err, &netErr):
		return c.T("err.network", netErr.Error()), c.T("hint.network"), ExitService
	case errors.Is(err, os.ErrExist) && errors.As(err, &exists):
		return c.T("err.export_exists", exists.Path), "", ExitFailure
	case errors.Is(err, app.ErrAgentRunning):
		return c.T("err.agent_running"), "", ExitFailure
	case errors.Is(err, app.ErrNoAgent):
		return c.T("err.no_agent"), c.T("hint.no_agent"), ExitFailure
	case errors.Is(err, app.ErrHandoffNotFound):
		return c.T("err.expired"), c.T("hint.expired"), ExitLoginCanceled
	case errors.Is(err, app.ErrPeerRefused):
		return c.T("err.peer_refused"), "", ExitFailure
	case errors.Is(err, errNoTerminal):
		return c.T("err.no_tty"), "", ExitUsage
	}
	return c.T("err.generic", err.Error()), "", ExitFailure
}

func policyKey(r cardreader.PINPolicyReason) string {
	switch r {
	case cardreader.PINTooShort:
		return "policy.tooShort"
	case cardreader.PINTooLong:
		return "policy.tooLong"
	case cardreader.PINNotDigits:
		return "policy.notDigits"
	case cardreader.PINRepeatedDigit:
		return "policy.repeated"
	case cardreader.PINAscending, cardreader.PINDescending:
		return "policy.sequence"
	case cardreader.PINBirthDate:
		return "policy.birthDate"
	}
	return "policy.notDigits"
}

// envName digs the environment's name out of an ErrEnvironmentNotConfigured
// chain ("PROD: no service URL: ..."), for the message.
func envName(err error) string {
	var e *envError
	if errors.As(err, &e) {
		return e.name
	}
	return ""
}

type envError struct {
	name string
	err  error
}

func (e *envError) Error() string { return e.name + ": " + e.err.Error() }
func (e *envError) Unwrap() error { return e.err }

func httpStatus(code int) string {
	if code == 0 {
		return "?"
	}
	return "HTTP " + strconv.Itoa(code)
}
