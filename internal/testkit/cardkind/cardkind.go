// Package cardkind is the table of card kinds that every flow test runs
// over: the virtual PIV card through the PIV backend, the virtual IDPrime
// 940 (what SITHS card holders carry) through the native IDPrime backend,
// and the same IDPrime card through OpenSC's PKCS#11 module, the fallback
// a policy can choose. A test written once with Run covers all three, so
// no flow is proved on one kind of card only.
//
// Each Kind says how to provision its card (internal/testkit/vcard), how the
// product is told to use it (backends in-process, flags for the CLI,
// environment variables for the shipped binary), and what the card holds,
// so a table-driven test can state its expectations per kind instead of
// copying itself. Imported by tests only (internal/deptest keeps it out of
// shipped code).
package cardkind

import (
	"os"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/idprime"
	"github.com/sithseid/sithseid/cardreader/piv"
	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// Kind is one kind of card and the way the product reaches it.
type Kind struct {
	// Name names the subtest: "piv", "idprime", "idprime-pkcs11".
	Name string
	// Card is the virtual card's kind (vcard.KindPIV, vcard.KindIDPrime).
	Card vcard.Kind
	// Backend is the backend the product reports for the card
	// (CardStatus.Backend).
	Backend string
	// Preference is the backend setting that selects it: "auto" where
	// the product must find the backend by itself.
	Preference string
	// Module is the PKCS#11 module, for the PKCS#11 kind.
	Module string

	// Certificates is how many certificates a default card holds; Login
	// is the ID of its login certificate (the PIV slot; the IDPrime file
	// name; OpenSC's PKCS#15 ID, the certificate's place in the index).
	Certificates int
	Login        string
	// PersonalNumber: the default card carries the personal-number pair
	// (the holder's birth date is known to the PIN policy).
	PersonalNumber bool
	// Unblock: the backend can unblock the PIN with the PUK (OpenSC has
	// no PUK object for IDPrime cards).
	Unblock bool
	// Remove: the backend can remove a certificate (no public source says
	// how the IDPrime applet deletes one).
	Remove bool
	// ExactRetries: status reads the PIN's exact tries left in any
	// process. PKCS#11 has only flags (low, final try, locked) and OpenSC
	// 0.23 never sets CKF_USER_PIN_COUNT_LOW, so through it a PIN with two
	// tries left shows three to a process that did not see the wrong PIN
	// (cardreader/pkcs11's doc).
	ExactRetries bool
	// RemovalRefusedBeforePIN: the backend knows without asking the card
	// that it cannot remove certificates (cardreader.RemovalSupported is
	// false), so the app refuses before the PIN prompt. A PKCS#11 module
	// only finds out at C_DestroyObject, after the login.
	RemovalRefusedBeforePIN bool
	// Keys are the key types the card can be provisioned with
	// (testpki.CardSpec.Key), RSA 2048 first: the virtual IDPrime 940
	// holds RSA keys only.
	Keys []testpki.KeyType
}

// OpenSCModule is Debian's OpenSC PKCS#11 module (testenv.OpenSCModule).
var OpenSCModule = testenv.OpenSCModule

// The kinds.
var (
	PIV = Kind{Name: "piv", Card: vcard.KindPIV, Backend: cardreader.BackendPIV, Preference: cardreader.PreferAuto,
		Certificates: 4, Login: "9a", PersonalNumber: true, Unblock: true, Remove: true, ExactRetries: true,
		Keys: []testpki.KeyType{testpki.RSA2048, testpki.P256}}
	IDPrime = Kind{Name: "idprime", Card: vcard.KindIDPrime, Backend: cardreader.BackendIDPrime, Preference: cardreader.PreferAuto,
		Certificates: 1, Login: "kxc00", Unblock: true, ExactRetries: true, RemovalRefusedBeforePIN: true, Keys: []testpki.KeyType{testpki.RSA2048}}
	IDPrimePKCS11 = Kind{Name: "idprime-pkcs11", Card: vcard.KindIDPrime, Backend: cardreader.BackendPKCS11, Preference: cardreader.PreferPKCS11,
		Module: OpenSCModule, Certificates: 1, Login: "0001", Keys: []testpki.KeyType{testpki.RSA2048}}
)

// All is every kind, in the order subtests run.
func All() []Kind { return []Kind{PIV, IDPrime, IDPrimePKCS11} }

// Run runs f as a subtest per kind. A kind whose parts are missing on
// this machine (OpenSC's module) fails on CI and skips elsewhere
// (internal/testkit/testenv).
func Run(t *testing.T, f func(t *testing.T, k Kind)) {
	t.Helper()
	for _, k := range All() {
		t.Run(k.Name, func(t *testing.T) {
			if k.Module != "" {
				if _, err := os.Stat(k.Module); err != nil {
					testenv.Missing(t, "no PKCS#11 module %s (scripts/setup installs opensc)", k.Module)
				}
			}
			f(t, k)
		})
	}
}

// Provision is prov for this kind's card: its Kind set, the rest as given.
func (k Kind) Provision(prov vcard.ProvisionOptions) vcard.ProvisionOptions {
	prov.Kind = k.Card
	return prov
}

// Insert provisions this kind's card for spec and runs it in reader of the
// test binary's pcscd (rig.Require) until tb ends.
func (k Kind) Insert(tb testing.TB, reader int, spec testpki.CardSpec, run vcard.RunOptions) *rig.Card {
	tb.Helper()
	return rig.Require(tb).InsertCard(tb, reader, k.Provision(vcard.ProvisionOptions{Dir: tb.TempDir(), Spec: spec}), run)
}

// Backends are the product's backends in their default order, sharing
// cache, with the PKCS#11 module this kind names (or the default).
func (k Kind) Backends(cache *cardreader.IdentityCache) []cardreader.Backend {
	return []cardreader.Backend{
		idprime.New(idprime.Options{Cache: cache}),
		piv.New(piv.Options{Cache: cache}),
		pkcs11.New(pkcs11.Options{ModulePath: k.Module}),
	}
}

// Options are app.Options for a service that reaches this kind's card the
// way the product does: every backend, this kind's preference, the
// process's PC/SC readers.
func (k Kind) Options(cache *cardreader.IdentityCache) app.Options {
	return app.Options{Backends: k.Backends(cache), Preference: k.Preference, Readers: cardreader.ListReaders, Cache: cache}
}

// Args are the CLI flags that select this kind's backend.
func (k Kind) Args() []string {
	if k.Module == "" {
		return []string{"--backend", k.Preference}
	}
	return []string{"--backend", k.Preference, "--pkcs11-module", k.Module}
}

// Env is the environment that selects this kind's backend in the shipped
// binary (every role reads SITHSEID_BACKEND and SITHSEID_PKCS11_MODULE).
func (k Kind) Env() []string {
	env := []string{"SITHSEID_BACKEND=" + k.Preference}
	if k.Module != "" {
		env = append(env, "SITHSEID_PKCS11_MODULE="+k.Module)
	}
	return env
}
