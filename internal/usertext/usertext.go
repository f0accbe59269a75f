// Package usertext turns the product's typed errors into calm sentences for
// people, Swedish first and English second: a message, a hint, and a class
// that says what kind of failure it is. The CLI maps the class to its exit
// code; the windows (package ui) show message and hint. Both therefore say
// the same thing for the same error, and neither shows a raw status word.
//
// It needs no Fyne (internal/deptest checks that).
package usertext

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/localsocket"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
)

// Class is what kind of failure an error is. The CLI's exit codes follow
// it one to one (cli.ExitWrongPIN for WrongPIN, …).
type Class int

// Classes of failure.
const (
	Failure Class = iota
	Usage
	NoReader
	NoCard
	WrongPIN
	PINBlocked
	WrongPUK
	PUKBlocked
	PINPolicy
	CardRemoved
	Confirm
	Service
	Untrusted
	Cancelled
	AgentRunning
	// EnvironmentOff: the environment asked for is turned off on this
	// computer (DEMO without policy's allowDemo).
	EnvironmentOff
)

// EnvironmentNamer is implemented by errors that know which environment
// was not configured (the CLI's), so the message can name it.
type EnvironmentNamer interface{ EnvironmentName() string }

// Explain turns err into a sentence and a hint in c's language. The full
// error chain belongs in the log, never in the sentence: only data the
// typed errors carry (tries left, a file name) reaches the user.
func Explain(c *l10n.Catalog, err error) (msg, hint string, class Class) {
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
		namer     EnvironmentNamer
		clock     *mtls.ServerCertificateTimeError
		notOwner  *localsocket.NotOwnerError
		output    *diag.OutputError
	)
	var pinErr *app.PINError
	signature := errors.As(err, &pinErr) && pinErr.PIN == cardreader.PINSignature
	switch {
	case errors.Is(err, app.ErrCancelled), errors.Is(err, context.Canceled):
		return c.T("err.cancelled"), "", Cancelled
	case signature && errors.As(err, &wrongPIN):
		// The signature PIN's own words: its tries and its unblocking are
		// not the identification PIN's, and login still works.
		switch wrongPIN.Retries {
		case 0:
			return c.T("err.sign_pin_blocked"), c.T("hint.sign_pin_blocked"), PINBlocked
		case 1:
			return c.T("err.wrong_sign_pin_last"), "", WrongPIN
		}
		return c.T("err.wrong_sign_pin", wrongPIN.Retries), "", WrongPIN
	case signature && errors.Is(err, cardreader.ErrPINBlocked):
		return c.T("err.sign_pin_blocked"), c.T("hint.sign_pin_blocked"), PINBlocked
	case errors.Is(err, cardreader.ErrNoSignaturePIN):
		return c.T("err.no_sign_pin"), c.T("hint.no_sign_pin"), Usage
	case errors.Is(err, app.ErrUnknownPIN):
		return c.T("err.unknown_pin"), "", Usage
	case errors.Is(err, cardreader.ErrRemovalUnsupported):
		return c.T("err.removal_unsupported"), c.T("hint.removal_unsupported"), Failure
	case errors.Is(err, atomicfile.ErrSymlink):
		return c.T("err.symlink"), c.T("hint.symlink"), Failure
	case errors.Is(err, atomicfile.ErrUnsafeDir):
		return c.T("err.unsafe_path"), c.T("hint.unsafe_path"), Failure
	case errors.As(err, &wrongPIN):
		if wrongPIN.Retries == 0 {
			return c.T("err.pin_blocked"), c.T("hint.pin_blocked"), PINBlocked
		}
		if wrongPIN.Retries == 1 {
			return c.T("err.wrong_pin_last"), "", WrongPIN
		}
		return c.T("err.wrong_pin", wrongPIN.Retries), "", WrongPIN
	case errors.As(err, &wrongPUK):
		if wrongPUK.Retries == 0 {
			return c.T("err.puk_blocked"), c.T("hint.puk_blocked"), PUKBlocked
		}
		return c.T("err.wrong_puk", wrongPUK.Retries), "", WrongPUK
	case errors.Is(err, cardreader.ErrPINBlocked):
		return c.T("err.pin_blocked"), c.T("hint.pin_blocked"), PINBlocked
	case errors.Is(err, cardreader.ErrPUKBlocked):
		return c.T("err.puk_blocked"), c.T("hint.puk_blocked"), PUKBlocked
	case errors.Is(err, cardreader.ErrNoPUK):
		return c.T("err.no_puk"), c.T("hint.no_puk"), PUKBlocked
	case errors.As(err, &policy):
		// The current PIN or the PUK of the wrong form is not the new
		// PIN's fault: say which code it was (no try was spent).
		switch policy.Reason {
		case cardreader.PUKWrongLength:
			return c.T("err.puk_wrong_form"), "", PINPolicy
		case cardreader.PINWrongForm:
			if signature {
				return c.T("err.sign_pin_format"), "", PINPolicy
			}
			return c.T("err.pin_format"), "", PINPolicy
		}
		return c.T("err.pin_policy", c.T(PolicyKey(policy.Reason))), "", PINPolicy
	case errors.Is(err, app.ErrSamePIN):
		return c.T("err.same_pin"), "", PINPolicy
	case errors.Is(err, cardreader.ErrNewPINRejected):
		// The token's own limits (PKCS#11: CKR_PIN_LEN_RANGE and the like),
		// not "something went wrong: CKR_DATA_INVALID".
		return c.T("err.new_pin_rejected"), c.T("hint.new_pin_rejected"), PINPolicy
	case errors.Is(err, cardreader.ErrCardChanged):
		// Another card took the place of the one the user was asked
		// about: nothing was presented to it (exit code: card removed).
		return c.T("err.card_changed"), c.T("hint.card_changed"), CardRemoved
	case errors.Is(err, app.ErrPINChangeOutcomeUnknown):
		// Before ErrCardRemoved, which it matches too: the PIN may have
		// changed, so "try again" would be wrong advice.
		return c.T("err.pin_change_unknown"), c.T("hint.pin_change_unknown"), CardRemoved
	case errors.Is(err, app.ErrPINUnblockOutcomeUnknown):
		return c.T("err.pin_unblock_unknown"), c.T("hint.pin_unblock_unknown"), CardRemoved
	case errors.Is(err, app.ErrRemovalOutcomeUnknown):
		return c.T("err.removal_unknown"), c.T("hint.removal_unknown"), CardRemoved
	case errors.Is(err, cardreader.ErrCardRemoved):
		return c.T("err.card_removed"), c.T("hint.card_removed"), CardRemoved
	case errors.Is(err, cardreader.ErrCardUnresponsive):
		return c.T("err.card_unresponsive"), c.T("hint.card_unresponsive"), NoCard
	case errors.Is(err, cardreader.ErrNoService):
		return c.T("err.no_service"), c.T("hint.no_service"), NoReader
	case errors.Is(err, cardreader.ErrNoReader):
		return c.T("err.no_reader"), c.T("hint.no_reader"), NoReader
	case errors.Is(err, cardreader.ErrAmbiguousCard):
		return c.T("err.ambiguous"), c.T("hint.ambiguous"), NoCard
	case errors.Is(err, cardreader.ErrNoCard):
		return c.T("err.no_card"), c.T("hint.no_card"), NoCard
	case errors.Is(err, cardreader.ErrCardBusy):
		return c.T("err.card_busy"), c.T("hint.card_busy"), NoCard
	case errors.Is(err, cardreader.ErrUnsupportedCard):
		return c.T("err.unsupported"), c.T("hint.unsupported"), NoCard
	case errors.Is(err, cardreader.ErrCertificateNotFound):
		return c.T("err.cert_not_found"), c.T("hint.cert_not_found"), Confirm
	case errors.Is(err, app.ErrConfirmLogin):
		return c.T("err.confirm_login"), c.T("hint.confirm_login"), Confirm
	case errors.Is(err, app.ErrNothingExpired):
		return c.T("err.nothing_expired"), "", Confirm
	case errors.Is(err, app.ErrBadManagementKey):
		return c.T("err.bad_mgmt_key"), c.T("hint.bad_mgmt_key"), Usage
	case errors.Is(err, cardreader.ErrManagementKey):
		return c.T("err.mgmt_key"), c.T("hint.mgmt_key"), Failure
	case errors.Is(err, app.ErrBadLink):
		return c.T("err.bad_link"), "", Usage
	case errors.Is(err, app.ErrNoLoginCertificate):
		return c.T("err.no_login_cert"), "", NoCard
	case errors.Is(err, app.ErrNoSuchEID):
		return c.T("err.no_such_eid"), c.T("hint.no_such_eid"), Usage
	case errors.Is(err, app.ErrConfirmEIDRemoval):
		return c.T("err.confirm_eid_removal"), c.T("hint.confirm_eid_removal"), Confirm
	case errors.Is(err, app.ErrLoginCertificateExpired):
		return c.T("err.login_cert_expired"), c.T("hint.login_cert_expired"), NoCard
	case errors.Is(err, environment.ErrUnknown):
		return c.T("err.unknown_env"), "", Usage
	case errors.Is(err, environment.ErrTurnedOff):
		// Before ErrNotConfigured, which a *TurnedOffError matches too.
		return c.T("err.env_turned_off", environment.DEMO), c.T("hint.env_turned_off"), EnvironmentOff
	case errors.Is(err, environment.ErrNotConfigured):
		name := ""
		if errors.As(err, &namer) {
			name = namer.EnvironmentName()
		}
		return c.T("err.env_not_configured", name), c.T("hint.env_not_configured"), Service
	case errors.Is(err, oob.ErrEndUserIPMismatch):
		// The service refused: the login was started on another computer
		// and its link opened here (docs/protocol.md §8.1).
		return c.T("err.enduserip_mismatch"), c.T("hint.enduserip_mismatch"), Cancelled
	case errors.Is(err, localapi.ErrHandoffRateLimited):
		return c.T("err.handoff_rate_limited"), c.T("hint.handoff_rate_limited"), Cancelled
	case errors.Is(err, oob.ErrExpired):
		return c.T("err.expired"), c.T("hint.expired"), Cancelled
	case errors.Is(err, oob.ErrAlreadyCompleted):
		return c.T("err.already_completed"), c.T("hint.expired"), Cancelled
	case errors.Is(err, oob.ErrRateLimited):
		return c.T("err.rate_limited"), c.T("hint.rate_limited"), Service
	case errors.Is(err, oob.ErrMalformedReply), errors.Is(err, oob.ErrRedirect):
		return c.T("err.malformed"), c.T("hint.malformed"), Service
	case errors.As(err, &clock):
		// Before untrusted and netErr: the certificate is fine but for
		// this computer's clock, most often a wrong date on the PC.
		return c.T("err.server_cert_time", localTime(clock.Now), localTime(clock.NotBefore), localTime(clock.NotAfter)),
			c.T("hint.server_cert_time"), Service
	case errors.As(err, &untrusted):
		if untrusted.LikelyInspectingProxy {
			return c.T("err.untrusted_proxy", untrusted.Issuer), c.T("hint.untrusted_proxy"), Untrusted
		}
		return c.T("err.untrusted", untrusted.Issuer), "", Untrusted
	case errors.As(err, &notAcc):
		return c.T("err.cert_not_accepted"), c.T("hint.cert_not_accepted"), Service
	case errors.As(err, &version):
		return c.T("err.tls_version"), c.T("hint.tls_version"), Service
	case errors.Is(err, mtls.ErrNoSharedCipherSuite):
		// Before netErr: the wrapped handshake error is a *net.OpError,
		// which would otherwise read "could not reach the server".
		return c.T("err.tls_cipher"), c.T("hint.tls_cipher"), Service
	case errors.As(err, &svc) && svc.Status >= 500:
		// The service failed (or is in maintenance): not a refusal of
		// this user, and worth a retry later.
		return c.T("err.service_failed"), c.T("hint.service_failed"), Service
	case errors.As(err, &svc):
		code := svc.Code
		if code == "" {
			code = httpStatus(svc.Status)
		}
		return c.T("err.service", code), "", Service
	case errors.As(err, &output):
		// Before netErr: a syscall.Errno under an *os.PathError is a
		// net.Error too, which read "could not reach the server".
		switch {
		case errors.Is(err, os.ErrNotExist):
			return c.T("err.output_no_dir", output.Path), c.T("hint.output"), Failure
		case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS):
			return c.T("err.output_denied", output.Path), c.T("hint.output"), Failure
		}
		return c.T("err.output", output.Path), c.T("hint.output"), Failure
	case errors.As(err, &notOwner):
		// Not "not running": starting it again would not help.
		return c.T("err.socket_not_owner", notOwner.Path), c.T("hint.socket_not_owner", notOwner.Path), Failure
	case errors.As(err, &netErr):
		return c.T("err.network", networkReason(err)), c.T("hint.network"), Service
	case errors.Is(err, os.ErrExist) && errors.As(err, &exists):
		return c.T("err.export_exists", exists.Path), "", Failure
	case errors.Is(err, localapi.ErrAgentRunning):
		return c.T("err.agent_running"), "", AgentRunning
	case errors.Is(err, localapi.ErrNoAgent):
		return c.T("err.no_agent"), c.T("hint.no_agent"), Failure
	case errors.Is(err, localapi.ErrHandoffNotFound):
		return c.T("err.expired"), c.T("hint.expired"), Cancelled
	case errors.Is(err, localapi.ErrPeerRefused):
		return c.T("err.peer_refused"), "", Failure
	case errors.Is(err, localapi.ErrTooManyCalls):
		// The agent's fair shares (docs/protocol.md 8.13): refused at
		// once, nothing was started; a later try is taken.
		return c.T("err.too_many_calls"), c.T("hint.too_many_calls"), Failure
	case errors.Is(err, localapi.ErrTooManyConnections):
		return c.T("err.too_many_connections"), c.T("hint.too_many_connections"), Failure
	}
	return c.T("err.generic", err.Error()), "", Failure
}

// PolicyKey is the message ID that names a PIN policy reason.
func PolicyKey(r cardreader.PINPolicyReason) string {
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

func httpStatus(code int) string {
	if code == 0 {
		return "?"
	}
	return "HTTP " + strconv.Itoa(code)
}

// networkReason is the innermost error of a network failure ("connection
// refused", "i/o timeout"): the URL and the Go call around it ("Post
// \"https://…\": dial tcp …") mean nothing to the user and stay in the log.
func networkReason(err error) string {
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if es := u.Unwrap(); len(es) > 0 {
				next = es[len(es)-1]
			}
		}
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// localTime is t on this computer's clock, as the user reads it there.
func localTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }
