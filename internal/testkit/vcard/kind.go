package vcard

import "fmt"

// Kind is the card application a virtual card runs: what real card it
// stands for.
type Kind string

const (
	// KindPIV is a PIV card application (NIST SP 800-73-4) with YubiKey's
	// extensions: what piv-go and yubico-piv-tool talk to. The default, and
	// the kind of every state written before kinds existed.
	KindPIV Kind = "piv"
	// KindIDPrime is a Thales IDPrime 940 (what SITHS cards are) as far as
	// the public facts go: see the package doc and
	// /work/notes/idprime-contract.md.
	KindIDPrime Kind = "idprime"
)

// Kinds lists the card kinds ("sithseid-vcard init --kind").
var Kinds = []Kind{KindPIV, KindIDPrime}

// ParseKind maps a name to a Kind; "" is KindPIV.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case "", KindPIV:
		return KindPIV, nil
	case KindIDPrime:
		return KindIDPrime, nil
	}
	return "", fmt.Errorf("vcard: unknown card kind %q (want piv or idprime)", s)
}

// Kind is the card's kind.
func (c *Card) Kind() Kind {
	if c.idp != nil {
		return KindIDPrime
	}
	return KindPIV
}
