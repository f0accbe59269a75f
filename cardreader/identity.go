package cardreader

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"regexp"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDs of the certificate profile this package reads. They are the test
// profile's (internal/testkit/testpki, under the documentation arc 1.3.6.1.4.1.32473
// of RFC 5612; a test asserts that they agree): real SITHS certificates use
// Inera's arcs, to be configured here when known. cardreader does not import
// testpki outside tests.
var (
	// OIDCardNumber is the SubjectAltName otherName type that carries the
	// number printed on the card.
	OIDCardNumber = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 7, 1, 1}
	// OIDPolicyLoA3 and OIDPolicyLoA2 are the certificate policies of
	// ordinary cards (LoA3) and reserve cards (LoA2).
	OIDPolicyLoA3 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 7, 2, 3}
	OIDPolicyLoA2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 7, 2, 2}
)

// Certificate attributes from RFC 5280 appendix A and X.520.
var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidGivenName      = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname        = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// MaxCertificates is the number of certificates above which a card is
// flagged: more than about six certificates made upgrades of SITHS cards fail.
const MaxCertificates = 6

// CertKind says which of the SITHS certificate pairs a certificate belongs to.
type CertKind string

const (
	KindHSAID          CertKind = "hsa"      // serialNumber is an HSA-ID
	KindPersonalNumber CertKind = "personal" // serialNumber is a personnummer
	KindOther          CertKind = "other"
)

// CertUsage tells an authentication from a signing certificate.
type CertUsage string

const (
	// UsageAuth: KeyUsage digitalSignature (TLS client auth, login).
	UsageAuth CertUsage = "auth"
	// UsageSign: KeyUsage contentCommitment (non-repudiation) without
	// digitalSignature: qualified signatures.
	UsageSign CertUsage = "sign"
	// UsageOther: neither.
	UsageOther CertUsage = "other"
)

// hsaIDPattern is the HSA-ID format: "SE", a ten-digit organisation number,
// a dash and a local part (Inera, HSA-ID specification).
var hsaIDPattern = regexp.MustCompile(`^SE[0-9]{10}-[A-Za-z0-9]+$`)

// IsHSAID reports whether s has the HSA-ID format.
func IsHSAID(s string) bool { return hsaIDPattern.MatchString(s) }

// Holder is the card holder's name as the certificates give it.
type Holder struct {
	Name      string // subject commonName
	GivenName string
	Surname   string
}

// CertInfo is one certificate read with the SITHS profile.
type CertInfo struct {
	Certificate
	Kind   CertKind
	Usage  CertUsage
	Holder Holder
	// Organisation is the subject's organizationName (O=): on an HSA-ID
	// certificate, the organisation whose SITHS eID it is.
	Organisation string
	// HSAID is set on HSA-ID certificates, PersonalNumber on
	// personal-number certificates.
	HSAID          string
	PersonalNumber PersonalNumber
	CardNumber     string // "" when the certificate does not carry it
	Issuer         string // issuer commonName
	LoA            int    // 3, 2, or 0 when no known policy is present
	NotBefore      time.Time
	NotAfter       time.Time
	// Reserve marks a reserve card's certificate (LoA2 policy).
	Reserve bool
	// Login marks the HSA-ID authentication certificate used to log in.
	Login bool
	// SHA256 is the fingerprint of the DER certificate, hex.
	SHA256 string
}

// Expired reports whether the certificate is past its NotAfter at now.
func (c CertInfo) Expired(now time.Time) bool { return now.After(c.NotAfter) }

// Identity is the SITHS identity read from a card's certificates.
type Identity struct {
	Holder         Holder
	HSAID          string
	PersonalNumber PersonalNumber
	CardNumber     string
	// Issuer, LoA and validity are the login certificate's (or, without
	// one, the first certificate's).
	Issuer    string
	LoA       int
	NotBefore time.Time
	NotAfter  time.Time
	// Reserve is true for a reserve card (reservkort): short-lived LoA2
	// certificates.
	Reserve      bool
	Certificates []CertInfo
	// EIDs are the card's SITHS eIDs, one per HSA-ID, in card order; the
	// default one (Default set) holds the login certificate. See eid.go.
	EIDs []EID
	// PersonalPair is the personal-number pair's certificates, empty when
	// the card has none.
	PersonalPair []CertInfo
}

// Login returns the HSA-ID authentication certificate, if the card has one.
func (id *Identity) Login() (CertInfo, bool) {
	for _, c := range id.Certificates {
		if c.Login {
			return c, true
		}
	}
	return CertInfo{}, false
}

// Certificate returns the certificate with the backend ID certID.
func (id *Identity) Certificate(certID string) (CertInfo, bool) {
	for _, c := range id.Certificates {
		if c.ID == certID {
			return c, true
		}
	}
	return CertInfo{}, false
}

// ExpiringWithin returns the certificates valid at now that expire within d.
func (id *Identity) ExpiringWithin(now time.Time, d time.Duration) []CertInfo {
	var out []CertInfo
	for _, c := range id.Certificates {
		if !c.Expired(now) && c.NotAfter.Before(now.Add(d)) {
			out = append(out, c)
		}
	}
	return out
}

// Expired returns the certificates past their NotAfter at now.
func (id *Identity) Expired(now time.Time) []CertInfo {
	var out []CertInfo
	for _, c := range id.Certificates {
		if c.Expired(now) {
			out = append(out, c)
		}
	}
	return out
}

// TooManyCertificates reports whether the card holds more than
// MaxCertificates certificates: warn, upgrades of such cards failed.
func (id *Identity) TooManyCertificates() bool { return len(id.Certificates) > MaxCertificates }

// ErrNoCertificates: a card with no certificates has no SITHS identity.
var ErrNoCertificates = errors.New("no certificates on the card")

// IdentityFromCertificates reads the SITHS identity from certs. The login
// certificate is the HSA-ID authentication certificate; with several, the
// one valid at now that expires last. Certificates keep their order.
func IdentityFromCertificates(certs []Certificate, now time.Time) (Identity, error) {
	if len(certs) == 0 {
		return Identity{}, ErrNoCertificates
	}
	var id Identity
	login := -1
	for _, c := range certs {
		if c.Cert == nil {
			continue
		}
		ci := describe(c)
		id.Certificates = append(id.Certificates, ci)
		i := len(id.Certificates) - 1
		if ci.Kind == KindHSAID && ci.Usage == UsageAuth && betterLogin(ci, id.Certificates, login, now) {
			login = i
		}
	}
	if len(id.Certificates) == 0 {
		return Identity{}, ErrNoCertificates
	}
	main := 0
	if login >= 0 {
		id.Certificates[login].Login = true
		main = login
	}
	m := id.Certificates[main]
	id.Holder, id.Issuer, id.LoA = m.Holder, m.Issuer, m.LoA
	id.NotBefore, id.NotAfter, id.Reserve = m.NotBefore, m.NotAfter, m.Reserve
	for _, c := range id.Certificates {
		if id.Holder.Name == "" {
			id.Holder = c.Holder
		}
		if id.HSAID == "" && c.HSAID != "" && (c.Kind == KindHSAID) {
			id.HSAID = c.HSAID
		}
		if id.PersonalNumber == "" && c.PersonalNumber != "" {
			id.PersonalNumber = c.PersonalNumber
		}
		if id.CardNumber == "" {
			id.CardNumber = c.CardNumber
		}
	}
	if m.Login && m.HSAID != "" {
		id.HSAID = m.HSAID
	}
	id.groupEIDs(now)
	return id, nil
}

// betterLogin reports whether candidate should replace the login
// certificate found so far at index cur.
func betterLogin(candidate CertInfo, all []CertInfo, cur int, now time.Time) bool {
	if cur < 0 {
		return true
	}
	old := all[cur]
	cv := !candidate.Expired(now) && !now.Before(candidate.NotBefore)
	ov := !old.Expired(now) && !now.Before(old.NotBefore)
	if cv != ov {
		return cv
	}
	return candidate.NotAfter.After(old.NotAfter)
}

func describe(c Certificate) CertInfo {
	x := c.Cert
	sum := sha256.Sum256(x.Raw)
	ci := CertInfo{
		Certificate:  c,
		Issuer:       x.Issuer.CommonName,
		NotBefore:    x.NotBefore,
		NotAfter:     x.NotAfter,
		SHA256:       hex.EncodeToString(sum[:]),
		Holder:       Holder{Name: x.Subject.CommonName},
		Organisation: firstOf(x.Subject.Organization),
		Usage:        usageOf(x),
		Kind:         KindOther,
	}
	for _, n := range x.Subject.Names {
		s, _ := n.Value.(string)
		switch {
		case n.Type.Equal(oidGivenName):
			ci.Holder.GivenName = s
		case n.Type.Equal(oidSurname):
			ci.Holder.Surname = s
		}
	}
	switch serial := x.Subject.SerialNumber; {
	case IsHSAID(serial):
		ci.Kind, ci.HSAID = KindHSAID, serial
	case ParsePersonalNumber(serial) != "":
		ci.Kind, ci.PersonalNumber = KindPersonalNumber, ParsePersonalNumber(serial)
	}
	ci.LoA = loaOf(x)
	ci.Reserve = ci.LoA == 2
	ci.CardNumber = cardNumberOf(x)
	return ci
}

// usageOf tells auth from sign by KeyUsage (RFC 5280 section 4.2.1.3): a
// SITHS signing certificate has contentCommitment (nonRepudiation) only; an
// authentication certificate has digitalSignature.
func usageOf(x *x509.Certificate) CertUsage {
	ku := x.KeyUsage
	switch {
	case ku&x509.KeyUsageDigitalSignature != 0:
		return UsageAuth
	case ku&x509.KeyUsageContentCommitment != 0:
		return UsageSign
	}
	return UsageOther
}

func loaOf(x *x509.Certificate) int {
	loa := 0
	for _, p := range x.PolicyIdentifiers {
		switch {
		case p.Equal(OIDPolicyLoA3):
			loa = max(loa, 3)
		case p.Equal(OIDPolicyLoA2):
			if loa == 0 {
				loa = 2
			}
		}
	}
	return loa
}

// cardNumberOf reads the otherName with type OIDCardNumber from the
// SubjectAltName extension (RFC 5280 section 4.2.1.6):
//
//	OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER,
//	                         value   [0] EXPLICIT ANY DEFINED BY type-id }
func cardNumberOf(x *x509.Certificate) string {
	for _, ext := range x.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		in := cryptobyte.String(ext.Value)
		var names cryptobyte.String
		if !in.ReadASN1(&names, cbasn1.SEQUENCE) {
			return ""
		}
		for !names.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&gn, &tag) {
				return ""
			}
			if tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
				continue // not an otherName
			}
			var oid asn1.ObjectIdentifier
			var value cryptobyte.String
			if !gn.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(OIDCardNumber) ||
				!gn.ReadASN1(&value, cbasn1.Tag(0).ContextSpecific().Constructed()) {
				continue
			}
			var str cryptobyte.String
			var strTag cbasn1.Tag
			if !value.ReadAnyASN1(&str, &strTag) {
				continue
			}
			switch strTag {
			case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String, cbasn1.Tag(asn1.TagNumericString):
				if utf8.Valid(str) {
					return string(str)
				}
			}
		}
	}
	return ""
}

// PersonalNumber is a Swedish personal identity number (personnummer) or
// coordination number (samordningsnummer) as 12 digits, YYYYMMDDNNNC. It
// prints masked (String, fmt, JSON): ask for Digits explicitly.
type PersonalNumber string

// ParsePersonalNumber returns s as a PersonalNumber when it is 12 digits
// whose first eight are a date (day + 60 for a coordination number), else
// "". The check digit is not required (test PKIs mint numbers without one):
// see ChecksumOK.
func ParsePersonalNumber(s string) PersonalNumber {
	if len(s) != 12 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ""
		}
	}
	p := PersonalNumber(s)
	if _, ok := p.BirthDate(); !ok {
		return ""
	}
	return p
}

// ChecksumOK reports whether the last digit is the Luhn check digit of the
// ten digits after the century (Skatteverket, SKV 704).
func (p PersonalNumber) ChecksumOK() bool { return len(p) == 12 && luhnOK(string(p[2:])) }

func luhnOK(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// Digits is the full number, YYYYMMDDNNNC. Show it only when asked.
func (p PersonalNumber) Digits() string { return string(p) }

// Masked is the number with its last four digits hidden: "19900101-XXXX".
func (p PersonalNumber) Masked() string {
	if len(p) != 12 {
		return ""
	}
	return string(p[:8]) + "-XXXX"
}

// String is Masked, so a personal number never lands in a log in clear.
func (p PersonalNumber) String() string { return p.Masked() }

// MarshalText is Masked, for the same reason.
func (p PersonalNumber) MarshalText() ([]byte, error) { return []byte(p.Masked()), nil }

// BirthDate is the date in the number (a coordination number's day minus 60).
func (p PersonalNumber) BirthDate() (time.Time, bool) {
	if len(p) < 8 {
		return time.Time{}, false
	}
	n := func(s string) int {
		v := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			v = v*10 + int(s[i]-'0')
		}
		return v
	}
	y, m, d := n(string(p[0:4])), n(string(p[4:6])), n(string(p[6:8]))
	if d > 60 {
		d -= 60
	}
	if y < 1800 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d || t.Month() != time.Month(m) {
		return time.Time{}, false // 31 April and the like
	}
	return t, true
}
