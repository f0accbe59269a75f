package cli_test

import (
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// "pin change --help" and "pin unblock -h" explain --signature in both
// languages and exit 0; the general help names the flag and every backend.
func TestPINHelpNamesSignature(t *testing.T) {
	for _, tc := range []struct {
		args []string
		sv   string
		en   string
	}{
		{[]string{"pin", "change", "--help"}, "byt underskriftskoden i stället för legitimeringskoden", "change the signature PIN instead of the identification PIN"},
		{[]string{"pin", "unblock", "-h"}, "lås upp underskriftskoden i stället för legitimeringskoden", "unblock the signature PIN instead of the identification PIN"},
	} {
		r := sv(t, "", tc.args...)
		wantCode(t, r, cli.ExitOK)
		wantIn(t, r.stderr, "--signature")
		wantIn(t, r.stderr, tc.sv)
		r = en(t, "", tc.args...)
		wantCode(t, r, cli.ExitOK)
		wantIn(t, r.stderr, tc.en)
		wantIn(t, r.stderr, strings.Join(cardreader.Preferences, "|"))
	}
	r := en(t, "", "help")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "pin change [--signature]")
	wantIn(t, r.stdout, "pin unblock [--signature]")
	wantIn(t, r.stdout, "--backend auto|idprime|piv|pkcs11")
	// An unknown flag is still a usage error.
	wantCode(t, sv(t, "", "pin", "change", "--signatur"), cli.ExitUsage)
}

// --signature on a card with one PIN (the virtual PIV card) says the card
// has no signature PIN, in Swedish and English, before any code is asked
// for or spent; without the flag the same card's PIN changes as before.
func TestPINSignatureOnOnePINCard(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	for _, args := range [][]string{{"pin", "change", "--signature", "--pin-stdin"}, {"pin", "unblock", "--pin-stdin", "--signature"}} {
		r := sv(t, "000000\n24681357\n24681357\n", args...)
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "Kortet har ingen underskriftskod.")
		if strings.Contains(r.stderr, "försök kvar") {
			t.Errorf("asked for a code: %s", r)
		}
		r = en(t, "000000\n24681357\n24681357\n", args...)
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "This card has no signature PIN.")
	}
	c := onlyCard(t, status(t))
	if c.PIN.Retries != 3 || c.PUK == nil || c.PUK.Retries != 3 || c.SignaturePIN != nil {
		t.Fatalf("after --signature: PIN %+v PUK %+v signature PIN %+v", c.PIN, c.PUK, c.SignaturePIN)
	}
	r := sv(t, "", "status")
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "Underskriftskod") || !strings.Contains(r.stdout, "PIN-kod:") {
		t.Errorf("one-PIN status names a signature PIN:\n%s", r.stdout)
	}
	r = sv(t, "123456\n24681357\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "PIN-koden är bytt.")
}
