package testpki

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of CardSpec.
const (
	DefaultGivenName      = "Anna"
	DefaultSurname        = "Svensson"
	DefaultHSAID          = "SE2321000016-1234"
	DefaultPersonalNumber = "199001012385" // born 1990-01-01, valid Luhn digit
	DefaultOrganization   = defaultOrgForCard
	// cardNumberPrefix starts the default card numbers. It resembles the
	// issuer prefix of printed SITHS card numbers; the rest is derived.
	cardNumberPrefix = "97522690"
)

// CardSpec describes the holder and kind of a card. The zero value is a
// valid normal RSA card for Anna Svensson.
type CardSpec struct {
	GivenName, Surname string // default "Anna", "Svensson"
	HSAID              string // default "SE2321000016-1234"
	// PersonalNumber is 12 digits YYYYMMDDNNNC with a valid Luhn check
	// digit; default DefaultPersonalNumber (born 1990-01-01).
	PersonalNumber string
	// CardNumber is the printed card number (digits); by default 20 digits
	// derived from the seed and the HSA-ID, ending in a Luhn check digit.
	CardNumber   string
	Organization string  // default "Region Test"
	Key          KeyType // default RSA2048
	Variant      Variant // default Normal
	// EIDs are further organisations' SITHS eIDs on the same card (a
	// clinician on assignment in another region): each an HSA-ID pair
	// issued by HSAPersonCA2. The first eID is HSAID/Organization above.
	EIDs []EIDSpec
}

// EIDSpec is one more organisation's SITHS eID on a card.
type EIDSpec struct {
	Organization string  // subject O, e.g. "Region Jönköpings län"
	HSAID        string  // SE + the organisation number + "-" + a local part
	Variant      Variant // "" = the card's Variant
}

// ParseEIDSpec parses "Organisation:HSA-ID", e.g.
// "Region Jönköpings län:SE2321000057-5678" (the command line's --eid).
func ParseEIDSpec(s string) (EIDSpec, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 {
		return EIDSpec{}, fmt.Errorf("testpki: eID %q: want ORGANISATION:HSA-ID", s)
	}
	e := EIDSpec{Organization: strings.TrimSpace(s[:i]), HSAID: strings.TrimSpace(s[i+1:])}
	if err := ValidHSAID(e.HSAID); err != nil {
		return EIDSpec{}, err
	}
	return e, nil
}

// EID is one extra eID of a Card: its spec and its HSA-ID pair.
type EID struct {
	Spec       EIDSpec
	Auth, Sign Credential
}

// Card is a SITHS card's worth of credentials: an HSA-ID pair and a
// personal-number pair, each one authentication and one signing
// certificate with its own key.
type Card struct {
	Spec                             CardSpec // with defaults filled in
	HSAAuth, HSASign, PNAuth, PNSign Credential
	// EIDs are the extra eIDs of Spec.EIDs, in that order.
	EIDs []EID
}

// Credentials returns the four credentials in the order HSAAuth, HSASign,
// PNAuth, PNSign.
func (c *Card) Credentials() []Credential {
	return []Credential{c.HSAAuth, c.HSASign, c.PNAuth, c.PNSign}
}

// withDefaults fills in defaults and validates.
func (p *PKI) withDefaults(s CardSpec) (CardSpec, error) {
	if s.GivenName == "" {
		s.GivenName = DefaultGivenName
	}
	if s.Surname == "" {
		s.Surname = DefaultSurname
	}
	if s.HSAID == "" {
		s.HSAID = DefaultHSAID
	}
	if s.PersonalNumber == "" {
		s.PersonalNumber = DefaultPersonalNumber
	}
	if s.Organization == "" {
		s.Organization = DefaultOrganization
	}
	if s.Key == "" {
		s.Key = RSA2048
	}
	if s.Variant == "" {
		s.Variant = Normal
	}
	if err := ValidHSAID(s.HSAID); err != nil {
		return s, err
	}
	if err := ValidPersonalNumber(s.PersonalNumber); err != nil {
		return s, err
	}
	if s.CardNumber == "" {
		s.CardNumber = p.defaultCardNumber(s.HSAID)
	} else if err := ValidCardNumber(s.CardNumber); err != nil {
		return s, err
	}
	if _, err := ParseKeyType(string(s.Key)); err != nil {
		return s, err
	}
	if _, err := ParseVariant(string(s.Variant)); err != nil {
		return s, err
	}
	seen := map[string]bool{s.HSAID: true}
	for i, e := range s.EIDs {
		if e.Variant == "" {
			s.EIDs[i].Variant = s.Variant
		} else if _, err := ParseVariant(string(e.Variant)); err != nil {
			return s, err
		}
		if err := ValidHSAID(e.HSAID); err != nil {
			return s, err
		}
		if seen[e.HSAID] {
			return s, fmt.Errorf("testpki: HSA-ID %s twice on one card", e.HSAID)
		}
		seen[e.HSAID] = true
		if e.Organization == "" {
			return s, fmt.Errorf("testpki: eID %s has no organisation", e.HSAID)
		}
	}
	return s, nil
}

// ParseKeyType parses a command-line key type ("rsa2048" or "p256").
func ParseKeyType(s string) (KeyType, error) {
	switch k := KeyType(s); k {
	case RSA2048, P256:
		return k, nil
	}
	return "", fmt.Errorf("%w: %q (want %s or %s)", ErrUnknownKeyType, s, RSA2048, P256)
}

// ParseVariant parses a command-line variant ("normal", "expired",
// "expiring" or "reserve").
func ParseVariant(s string) (Variant, error) {
	switch v := Variant(s); v {
	case Normal, Expired, Expiring, Reserve:
		return v, nil
	}
	return "", fmt.Errorf("%w: %q (want %s, %s, %s or %s)", ErrUnknownVariant, s, Normal, Expired, Expiring, Reserve)
}

// ValidCardNumber checks a printed card number: 1 to 32 digits.
func ValidCardNumber(n string) error {
	if !allDigits(n) || len(n) > 32 {
		return fmt.Errorf("%w: %q", ErrInvalidCardNumber, n)
	}
	return nil
}

// defaultCardNumber is cardNumberPrefix, 11 digits derived from the seed and
// the HSA-ID, and a Luhn check digit (ISO/IEC 7812-1 style).
func (p *PKI) defaultCardNumber(hsaID string) string {
	b := deriveBytes(p.seed, "card-number/"+hsaID, 16)
	n := new(big.Int).SetBytes(b)
	n.Mod(n, big.NewInt(100_000_000_000))
	body := fmt.Sprintf("%s%011d", cardNumberPrefix, n)
	return body + strconv.Itoa(int(luhnDigit(body)))
}

// validity returns the person certificates' validity for a variant.
func (p *PKI) validity(v Variant) (notBefore, notAfter time.Time) {
	switch v {
	case Expired:
		notAfter = p.now.Add(-backdate)
		return notAfter.Add(-PersonValidity), notAfter
	case Expiring:
		notAfter = p.now.Add(ExpiringIn)
		return notAfter.Add(-PersonValidity), notAfter
	case Reserve:
		notBefore = p.now.Add(-24 * time.Hour)
		return notBefore, notBefore.Add(ReserveValidity)
	default:
		notBefore = p.now.Add(-backdate)
		return notBefore, notBefore.Add(PersonValidity)
	}
}

// IssueCard mints the four certificates of a card. Keys are derived from the
// seed and the spec (holder, card number, key type, variant), so the same
// spec and seed give the same keys; certificates also depend on Now.
func (p *PKI) IssueCard(spec CardSpec) (*Card, error) {
	spec.EIDs = slices.Clone(spec.EIDs)
	s, err := p.withDefaults(spec)
	if err != nil {
		return nil, err
	}
	c := &Card{Spec: s}
	for _, slot := range []struct {
		dst    *Credential
		name   string
		ca     *CA
		serial string // subject serialNumber
		auth   bool
	}{
		{&c.HSAAuth, "hsa-auth", p.HSAPersonCA, s.HSAID, true},
		{&c.HSASign, "hsa-sign", p.HSAPersonCA, s.HSAID, false},
		{&c.PNAuth, "pn-auth", p.PNPersonCA, s.PersonalNumber, true},
		{&c.PNSign, "pn-sign", p.PNPersonCA, s.PersonalNumber, false},
	} {
		purpose := fmt.Sprintf("card/%s/%s/%s/%s/%s", s.HSAID, s.PersonalNumber, s.CardNumber, s.Variant, slot.name)
		key, err := deriveKey(p.seed, purpose, s.Key)
		if err != nil {
			return nil, fmt.Errorf("deriving %s key: %w", slot.name, err)
		}
		tmpl, err := p.personTemplate(s, purpose, slot.serial, slot.auth, key.Public())
		if err != nil {
			return nil, err
		}
		*slot.dst, err = slot.ca.issue(tmpl, key)
		if err != nil {
			return nil, fmt.Errorf("issuing %s certificate: %w", slot.name, err)
		}
	}
	for _, e := range s.EIDs {
		es := s
		es.HSAID, es.Organization, es.Variant = e.HSAID, e.Organization, e.Variant
		eid := EID{Spec: e}
		for _, slot := range []struct {
			dst  *Credential
			name string
			auth bool
		}{{&eid.Auth, "hsa-auth", true}, {&eid.Sign, "hsa-sign", false}} {
			purpose := fmt.Sprintf("card/%s/%s/%s/%s/eid/%s/%s", s.HSAID, s.PersonalNumber, s.CardNumber, e.Variant, e.HSAID, slot.name)
			key, err := deriveKey(p.seed, purpose, s.Key)
			if err != nil {
				return nil, fmt.Errorf("deriving %s key of %s: %w", slot.name, e.HSAID, err)
			}
			tmpl, err := p.personTemplate(es, purpose, e.HSAID, slot.auth, key.Public())
			if err != nil {
				return nil, err
			}
			*slot.dst, err = p.HSAPersonCA2.issue(tmpl, key)
			if err != nil {
				return nil, fmt.Errorf("issuing %s certificate of %s: %w", slot.name, e.HSAID, err)
			}
		}
		c.EIDs = append(c.EIDs, eid)
	}
	return c, nil
}

func (p *PKI) personTemplate(s CardSpec, purpose, subjectSerial string, auth bool, pub crypto.PublicKey) (*x509.Certificate, error) {
	san, err := cardNumberSAN(s.CardNumber)
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := p.validity(s.Variant)
	policy := PolicyLoA3
	if s.Variant == Reserve {
		policy = PolicyLoA2
	}
	t := &x509.Certificate{
		// The serial also depends on Now: the same card issued at another
		// time is another certificate and must not share its serial.
		SerialNumber: deriveSerial(p.seed, purpose+"/"+strconv.FormatInt(p.now.Unix(), 10)),
		Subject: pkix.Name{
			Country:      []string{"SE"},
			Organization: []string{s.Organization},
			CommonName:   s.GivenName + " " + s.Surname,
			SerialNumber: subjectSerial,
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: oidGivenName, Value: s.GivenName},
				{Type: oidSurname, Value: s.Surname},
			},
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(pub),
		Policies:              policyOIDs(policy),
		ExtraExtensions:       []pkix.Extension{{Id: oidSAN, Value: san}},
	}
	if p.ocspURL != "" {
		t.OCSPServer = []string{p.ocspURL}
	}
	if auth {
		t.KeyUsage = x509.KeyUsageDigitalSignature
		if _, ok := pub.(*rsa.PublicKey); ok {
			// RSA key transport (TLS 1.0–1.2 RSA kex, CMS) is allowed on
			// authentication keys, as on real cards.
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		t.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDSmartcardLogon}
	} else {
		// Signing certificates: nonRepudiation only and no EKU. The KeyUsage
		// difference is how clients tell the two certificates of a pair apart.
		t.KeyUsage = x509.KeyUsageContentCommitment
	}
	return t, nil
}
