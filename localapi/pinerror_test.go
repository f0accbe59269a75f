package localapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	mpkcs11 "github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/usertext"
	"github.com/sithseid/sithseid/localapi"
)

// errorServer serves ping, answering every call with the error fail
// returns, on a socket of the test's own; it returns a client of it.
func errorServer(t *testing.T, fail func() error) *localapi.Client {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &localapi.Server{Handlers: []localapi.Handler{
		localapi.Handle(localapi.MethodPing, func(context.Context, *localapi.Request, localapi.None) (localapi.AgentInfo, error) {
			return localapi.AgentInfo{}, fail()
		}),
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop")
		}
	})
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	c, err := localapi.DialAddress(dctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The errors about a PIN cross the local API saying which PIN (issue 14
// item 9): a blocked signature PIN arrives as the Service returns it,
// *app.PINError{signature} around ErrPINBlocked, and its sentence names
// the signature PIN in both languages, whichever method carried it (the
// client's own wrapping of pin.change aside); the identification PIN's
// stays "the PIN is blocked"; a new PIN the PKCS#11 token refused
// arrives as cardreader.ErrNewPINRejected with its own sentence.
func TestPINErrorsCrossTheLocalAPI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   string
		pin    cardreader.PINRef
		is     error
		sv, en string
	}{
		{"signature PIN blocked by the third wrong try",
			&app.PINError{PIN: cardreader.PINSignature, Err: fmt.Errorf("verify: %w", &cardreader.WrongPINError{Retries: 0})},
			"pinBlocked", cardreader.PINSignature, cardreader.ErrPINBlocked,
			"Underskriftskoden är låst.", "The signature PIN is blocked."},
		{"signature PIN already blocked",
			&app.PINError{PIN: cardreader.PINSignature, Err: cardreader.ErrPINBlocked},
			"pinBlocked", cardreader.PINSignature, cardreader.ErrPINBlocked,
			"Underskriftskoden är låst.", "The signature PIN is blocked."},
		{"identification PIN blocked",
			fmt.Errorf("verify: %w", cardreader.ErrPINBlocked),
			"pinBlocked", "", cardreader.ErrPINBlocked,
			"PIN-koden är låst.", "The PIN is blocked."},
		{"new PIN refused by the PKCS#11 token",
			fmt.Errorf("changing PIN: %w", fmt.Errorf("%w (%w)", pkcs11.ErrPINRejected, mpkcs11.Error(mpkcs11.CKR_PIN_LEN_RANGE))),
			"newPINRejected", "", cardreader.ErrNewPINRejected,
			"Kortet tog inte emot den nya koden: kortet godtar inte dess längd eller tecken. Inget försök förbrukades.",
			"The card did not accept the new code: it does not take its length or its characters. No try was used."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			we := localapi.ToWire(tc.err)
			if we.Code != tc.code || we.PIN != tc.pin {
				t.Errorf("on the wire: code %q pin %q; want %q %q", we.Code, we.PIN, tc.code, tc.pin)
			}
			c := errorServer(t, func() error { return tc.err })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Ping(ctx)
			if !errors.Is(err, tc.is) {
				t.Fatalf("client got %v; want errors.Is %v", err, tc.is)
			}
			var pe *app.PINError
			if got := errors.As(err, &pe); got != (tc.pin != "") || got && pe.PIN != tc.pin {
				t.Errorf("client got %#v; want *app.PINError for %q: %v", err, tc.pin, got)
			}
			for lang, want := range map[l10n.Lang]string{l10n.Swedish: tc.sv, l10n.English: tc.en} {
				if msg, _, _ := usertext.Explain(l10n.MustLoad(lang), err); msg != want {
					t.Errorf("%s: %q, want %q", lang, msg, want)
				}
			}
		})
	}
}
