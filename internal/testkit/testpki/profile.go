package testpki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The test profile's object identifiers live under 1.3.6.1.4.1.32473, the
// private enterprise number IANA reserves for documentation and examples
// (RFC 5612). Nothing here is a real SITHS OID: real SITHS certificates use
// Inera's arcs, which a test PKI must not imitate. Arc .7 is this project's.
var (
	// CardNumberOID is the type-id of the SubjectAltName otherName that
	// carries the printed card number in every card certificate of this
	// test profile. The value is a UTF8String of digits. This placement is
	// the test profile's choice; use ParseCardNumber to read it.
	CardNumberOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 7, 1, 1}

	// PolicyLoA3 is the certificate policy of ordinary cards (assurance
	// level 3) in this test profile.
	PolicyLoA3 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 7, 2, 3}
	// PolicyLoA2 is the certificate policy of reserve cards (reservkort,
	// assurance level 2) in this test profile.
	PolicyLoA2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 7, 2, 2}

	// OIDSmartcardLogon is Microsoft's smart card logon extended key usage
	// (1.3.6.1.4.1.311.20.2.2), which authentication certificates carry as
	// real SITHS authentication certificates do.
	OIDSmartcardLogon = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 2}
)

var (
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42} // X.520 givenName
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}  // X.520 surname
	oidSAN       = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// Errors returned for invalid input. They are wrapped with the offending
// value; test with errors.Is.
var (
	ErrInvalidHSAID          = errors.New("testpki: invalid HSA-ID")
	ErrInvalidPersonalNumber = errors.New("testpki: invalid personal number")
	ErrInvalidCardNumber     = errors.New("testpki: invalid card number")
	ErrUnknownKeyType        = errors.New("testpki: unknown key type")
	ErrUnknownVariant        = errors.New("testpki: unknown variant")
	ErrInvalidName           = errors.New("testpki: invalid server name")
)

// cardNumberSAN encodes the SubjectAltName extension value
//
//	SEQUENCE { [0] otherName { type-id CardNumberOID, [0] EXPLICIT UTF8String } }
//
// (RFC 5280 §4.2.1.6, GeneralName otherName).
func cardNumberSAN(cardNumber string) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // otherName
			b.AddASN1ObjectIdentifier(CardNumberOID)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) {
					b.AddBytes([]byte(cardNumber))
				})
			})
		})
	})
	return b.Bytes()
}

// ParseCardNumber returns the card number that the test profile puts in a
// card certificate's SubjectAltName otherName of type CardNumberOID. ok is
// false when the certificate carries none.
func ParseCardNumber(cert *x509.Certificate) (cardNumber string, ok bool) {
	if cert == nil {
		return "", false
	}
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		if n, ok := parseCardNumberSAN(ext.Value); ok {
			return n, true
		}
	}
	return "", false
}

func parseCardNumberSAN(der []byte) (string, bool) {
	in := cryptobyte.String(der)
	var names cryptobyte.String
	if !in.ReadASN1(&names, cbasn1.SEQUENCE) || !in.Empty() {
		return "", false
	}
	for !names.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&gn, &tag) {
			return "", false
		}
		if tag != cbasn1.Tag(0).Constructed().ContextSpecific() {
			continue
		}
		var oid asn1.ObjectIdentifier
		var val, s cryptobyte.String
		if !gn.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(CardNumberOID) {
			continue
		}
		if !gn.ReadASN1(&val, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!val.ReadASN1(&s, cbasn1.UTF8String) {
			return "", false
		}
		return string(s), true
	}
	return "", false
}

// LoA returns the assurance level (2 or 3) named by the certificate's test
// profile policy, or 0 when it carries neither PolicyLoA2 nor PolicyLoA3.
func LoA(cert *x509.Certificate) int {
	if cert == nil {
		return 0
	}
	for _, p := range cert.PolicyIdentifiers {
		switch {
		case p.Equal(PolicyLoA3):
			return 3
		case p.Equal(PolicyLoA2):
			return 2
		}
	}
	return 0
}

// IsAuthentication reports whether cert is an authentication certificate of
// the profile: KeyUsage digitalSignature and not contentCommitment. Signing
// certificates have contentCommitment (nonRepudiation) only.
func IsAuthentication(cert *x509.Certificate) bool {
	return cert != nil && cert.KeyUsage&x509.KeyUsageDigitalSignature != 0 &&
		cert.KeyUsage&x509.KeyUsageContentCommitment == 0
}

// IsSigning reports whether cert is a signing (non-repudiation) certificate of
// the profile.
func IsSigning(cert *x509.Certificate) bool {
	return cert != nil && cert.KeyUsage&x509.KeyUsageContentCommitment != 0
}

// GivenName and Surname read the X.520 givenName and surname attributes of a
// subject, which pkix.Name has no fields for.
func GivenName(n pkix.Name) string { return nameAttr(n, oidGivenName) }

// Surname returns the X.520 surname attribute of n, or "".
func Surname(n pkix.Name) string { return nameAttr(n, oidSurname) }

func nameAttr(n pkix.Name, oid asn1.ObjectIdentifier) string {
	for _, atv := range n.Names {
		if atv.Type.Equal(oid) {
			if s, ok := atv.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// ValidHSAID checks the HSA-ID form this profile accepts: "SE", a
// 10-digit organisation number, "-", and one or more letters or digits
// (e.g. SE2321000016-1234).
func ValidHSAID(id string) error {
	org, local, ok := strings.Cut(id, "-")
	if !ok || len(org) != 12 || !strings.HasPrefix(org, "SE") || !allDigits(org[2:]) || local == "" {
		return fmt.Errorf("%w: %q", ErrInvalidHSAID, id)
	}
	for _, c := range local {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return fmt.Errorf("%w: %q", ErrInvalidHSAID, id)
		}
	}
	return nil
}

// ValidPersonalNumber checks a 12-digit Swedish personal identity number
// YYYYMMDDNNNC (Skatteverket SKV 704): a plausible date (day+60 allowed for
// coordination numbers) and the Luhn check digit C over the last ten digits.
func ValidPersonalNumber(pn string) error {
	bad := fmt.Errorf("%w: %q", ErrInvalidPersonalNumber, pn)
	if len(pn) != 12 || !allDigits(pn) {
		return bad
	}
	month := atoi(pn[4:6])
	day := atoi(pn[6:8])
	if day > 60 {
		day -= 60
	}
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return bad
	}
	if luhnDigit(pn[2:11]) != pn[11]-'0' {
		return bad
	}
	return nil
}

// luhnDigit computes the Luhn check digit of digits (weights 2,1,2,1,… from
// the left, as Skatteverket specifies for the nine digits YYMMDDNNN).
func luhnDigit(digits string) byte {
	sum := 0
	double := len(digits)%2 == 1
	for _, c := range digits {
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte((10 - sum%10) % 10)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
