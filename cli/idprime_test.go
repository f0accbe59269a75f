package cli_test

import (
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// insertIDPrime puts a virtual IDPrime 940 (a SITHS card) into reader 0,
// with the signature PIN and signing key of older cards when withSigning.
func insertIDPrime(t *testing.T, withSigning bool) *rig.Card {
	t.Helper()
	return rig.Require(t).InsertCard(t, 0, vcard.ProvisionOptions{
		Dir: t.TempDir(), Spec: testpki.CardSpec{}, Kind: vcard.KindIDPrime, WithSigning: withSigning,
	}, vcard.RunOptions{})
}

// A SITHS card with two PINs through the default backend order: the native
// IDPrime backend serves it, status shows both PINs, and --signature
// changes the signature PIN only (a wrong one costs only its own tries).
func TestIDPrimeTwoPINsThroughTheCLI(t *testing.T) {
	insertIDPrime(t, true)
	c := onlyCard(t, status(t))
	if c.Backend != "idprime" || c.Holder.HSAID != testpki.DefaultHSAID {
		t.Fatalf("card via %q: %+v", c.Backend, c.Holder)
	}
	if c.PIN.Retries != 3 || c.SignaturePIN == nil || c.SignaturePIN.Retries != 3 || c.SignaturePIN.Blocked {
		t.Fatalf("PIN %+v, signature PIN %+v", c.PIN, c.SignaturePIN)
	}
	r := sv(t, "", "status", "--json")
	wantIn(t, r.stdout, `"backend": "idprime"`)
	wantIn(t, r.stdout, `"signaturePin": {`)
	r = sv(t, "", "status")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "Legitimeringskod:")
	wantIn(t, r.stdout, "Underskriftskod:")
	r = en(t, "", "status")
	wantIn(t, r.stdout, "Identification PIN:")
	wantIn(t, r.stdout, "Signature PIN:")

	r = sv(t, vcard.DefaultSignPIN+"\n24681357\n24681357\n", "pin", "change", "--signature", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "Underskriftskoden är bytt.")
	r = sv(t, vcard.DefaultSignPIN+"\n97531864\n97531864\n", "pin", "change", "--signature", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	wantIn(t, r.stderr, "Fel underskriftskod. 2 försök kvar.")
	c = onlyCard(t, status(t))
	if c.PIN.Retries != 3 || c.SignaturePIN == nil || c.SignaturePIN.Retries != 2 {
		t.Fatalf("after a wrong signature PIN: PIN %+v, signature PIN %+v", c.PIN, c.SignaturePIN)
	}
	// The identification PIN is still the default one, and changes alone.
	r = sv(t, vcard.DefaultPIN+"\n13572468\n13572468\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
	wantIn(t, r.stdout, "PIN-koden är bytt.")
	r = sv(t, "24681357\n86427531\n86427531\n", "pin", "change", "--signature", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
}

// A SITHS card as issued since 2024 (one PIN): no signaturePin, --signature
// says the card has none, and a certificate removal says where it can be
// done instead, in both languages.
func TestIDPrimeOnePINAndRemoval(t *testing.T) {
	insertIDPrime(t, false)
	c := onlyCard(t, status(t))
	if c.Backend != "idprime" || c.SignaturePIN != nil {
		t.Fatalf("card via %q, signature PIN %+v", c.Backend, c.SignaturePIN)
	}
	if r := sv(t, "", "status", "--json"); strings.Contains(r.stdout, "signaturePin") {
		t.Fatalf("one-PIN card's JSON names a signature PIN:\n%s", r.stdout)
	}
	r := sv(t, "000000\n24681357\n24681357\n", "pin", "change", "--signature", "--pin-stdin")
	wantCode(t, r, cli.ExitUsage)
	wantIn(t, r.stderr, "Kortet har ingen underskriftskod.")
	if len(c.Certificates) == 0 {
		t.Fatal("no certificates")
	}
	id := c.Certificates[0].ID
	r = sv(t, vcard.DefaultPIN+"\n", "cert", "remove", id, "--yes", "--pin-stdin")
	wantCode(t, r, cli.ExitFailure)
	wantIn(t, r.stderr, "Thales SAC")
	wantIn(t, r.stderr, "ID-administratör")
	r = en(t, vcard.DefaultPIN+"\n", "cert", "remove", id, "--yes", "--pin-stdin")
	wantCode(t, r, cli.ExitFailure)
	wantIn(t, r.stderr, "PKCS#11 module (Thales SAC)")
	if c := onlyCard(t, status(t)); len(c.Certificates) == 0 || c.PIN.Retries != 3 {
		t.Fatalf("after the refused removal: %+v", c)
	}
}
