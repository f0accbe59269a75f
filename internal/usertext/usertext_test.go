package usertext

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
)

// The typed errors become sentences of their own (never the fallback with
// the raw error text) in both languages, with the class the CLI's exit
// code and the windows' behaviour depend on.
func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err   error
		class Class
		sv    string
		en    string
	}{
		{&cardreader.WrongPINError{Retries: 2}, WrongPIN, "2 försök kvar", "2 tries left"},
		{fmt.Errorf("agent: %w", &cardreader.WrongPINError{Retries: 0}), PINBlocked, "låst", "blocked"},
		{&cardreader.WrongPUKError{Retries: 1}, WrongPUK, "PUK", "PUK"},
		{cardreader.ErrNoPUK, PUKBlocked, "ID-administratör", "ID administrator"},
		{&cardreader.PINPolicyError{Reason: cardreader.PINAscending}, PINPolicy, "följd", "run"},
		{&cardreader.PINPolicyError{Reason: cardreader.PINWrongForm}, PINPolicy, "nuvarande PIN-koden har fel form", "current PIN has the wrong form"},
		{&app.PINError{PIN: cardreader.PINSignature, Err: &cardreader.PINPolicyError{Reason: cardreader.PINWrongForm}}, PINPolicy, "nuvarande underskriftskoden har fel form", "current signature PIN has the wrong form"},
		{&cardreader.PINPolicyError{Reason: cardreader.PUKWrongLength}, PINPolicy, "PUK-koden har fel form", "PUK has the wrong form"},
		{cardreader.ErrCardRemoved, CardRemoved, "togs ut", "removed"},
		{fmt.Errorf("verifying PIN: %w", cardreader.ErrCardChanged), CardRemoved, "inte det kort du blev tillfrågad om", "not the one you were asked about"},
		{cardreader.ErrNoReader, NoReader, "kortläsare", "reader"},
		{fmt.Errorf("x: %w", app.ErrCancelled), Cancelled, "", ""},
		{context.Canceled, Cancelled, "", ""},
		{fmt.Errorf("lookup: %w", oob.ErrExpired), Cancelled, "", ""},
		{fmt.Errorf("looking the login up: %w", &oob.ServiceError{Status: 403, Code: oob.ErrorCodeEndUserIPMismatch}), Cancelled, "startades på en annan dator", "started on another computer"},
		{fmt.Errorf("agent: %w", localapi.ErrHandoffRateLimited), Cancelled, "För många inloggningslänkar", "Too many login links"},
		{fmt.Errorf("agent: %w", localapi.ErrTooManyCalls), Failure, "tar inte emot fler anrop från det här programmet", "not taking more requests from this program"},
		{fmt.Errorf("agent: %w (pid 7 has 32 open)", localapi.ErrTooManyConnections), Failure, "tar inte emot fler anslutningar från det här programmet", "not taking more connections from this program"},
		{app.ErrConfirmLogin, Confirm, "", ""},
		{&os.PathError{Op: "export", Path: "/tmp/x.pem", Err: os.ErrExist}, Failure, "/tmp/x.pem", "/tmp/x.pem"},
		{fmt.Errorf("x: %w", cardreader.ErrNoSignaturePIN), Usage, "Kortet har ingen underskriftskod.", "This card has no signature PIN."},
		{fmt.Errorf("removing certificate 01: %w", cardreader.ErrRemovalUnsupported), Failure, "Thales SAC", "Thales SAC"},
		{fmt.Errorf("removing certificate 01: %w", cardreader.ErrRemovalUnsupported), Failure, "ID-administratör", "ID administrator"},
		{&app.PINError{PIN: cardreader.PINSignature, Err: &cardreader.WrongPINError{Retries: 2}}, WrongPIN, "Fel underskriftskod. 2 försök kvar.", "Wrong signature PIN. 2 tries left."},
		{&app.PINError{PIN: cardreader.PINSignature, Err: &cardreader.WrongPINError{Retries: 1}}, WrongPIN, "underskriftskod", "signature PIN"},
		{&app.PINError{PIN: cardreader.PINSignature, Err: &cardreader.WrongPINError{Retries: 0}}, PINBlocked, "Underskriftskoden är låst", "signature PIN is blocked"},
		{&app.PINError{PIN: cardreader.PINSignature, Err: cardreader.ErrPINBlocked}, PINBlocked, "pin unblock --signature", "pin unblock --signature"},
		{&app.PINError{PIN: cardreader.PINSignature, Err: cardreader.ErrPUKBlocked}, PUKBlocked, "PUK-koden", "PUK"},
		{fmt.Errorf("x: %w", app.ErrUnknownPIN), Usage, "underskriftskoden", "signature PIN"},
		{fmt.Errorf("writing /tmp/qr.png: %w", atomicfile.ErrSymlink), Failure, "symbolisk länk", "symbolic link"},
		{fmt.Errorf("log directory: %w", atomicfile.ErrUnsafeDir), Failure, "tillhör inte dig", "does not belong to you"},
		{fmt.Errorf("lookup: %w", fmt.Errorf("%w: %w", mtls.ErrNoSharedCipherSuite, &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")})), Service, "föråldrad TLS-kryptering", "outdated TLS encryption"},
	} {
		for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
			c := l10n.MustLoad(lang)
			msg, hint, class := Explain(c, tc.err)
			if class != tc.class {
				t.Errorf("%v: class %d, want %d", tc.err, class, tc.class)
			}
			if msg == c.T("err.generic", tc.err.Error()) || strings.Contains(msg, "err.") || strings.Contains(hint, "hint.") {
				t.Errorf("%s %v: no sentence of its own: %q / %q", lang, tc.err, msg, hint)
			}
			want := tc.sv
			if lang == l10n.English {
				want = tc.en
			}
			if !strings.Contains(msg+" "+hint, want) {
				t.Errorf("%s %v: %q / %q, want %q", lang, tc.err, msg, hint, want)
			}
		}
	}
	// What it does not know it says is unknown, with the text for the log.
	c := l10n.MustLoad(l10n.English)
	if msg, _, class := Explain(c, errors.New("strange")); class != Failure || !strings.Contains(msg, "strange") {
		t.Errorf("unknown error: %q %d", msg, class)
	}
}
