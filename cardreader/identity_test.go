package cardreader

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newPKI(t testing.TB) *testpki.PKI {
	t.Helper()
	p, err := testpki.New(testpki.Options{Seed: "cardreader-test", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cardCerts lays a testpki card out as the PIV backend reads it.
func cardCerts(c *testpki.Card) []Certificate {
	return []Certificate{
		{ID: "9a", Label: "PIV Authentication", Cert: c.HSAAuth.Cert},
		{ID: "9c", Label: "Digital Signature", Cert: c.HSASign.Cert},
		{ID: "82", Label: "Retired Key Management 1", Cert: c.PNAuth.Cert},
		{ID: "83", Label: "Retired Key Management 2", Cert: c.PNSign.Cert},
	}
}

func TestOIDsAgreeWithTestPKI(t *testing.T) {
	if !OIDCardNumber.Equal(testpki.CardNumberOID) {
		t.Errorf("OIDCardNumber = %v, testpki.CardNumberOID = %v", OIDCardNumber, testpki.CardNumberOID)
	}
	if !OIDPolicyLoA3.Equal(testpki.PolicyLoA3) || !OIDPolicyLoA2.Equal(testpki.PolicyLoA2) {
		t.Errorf("LoA policies %v/%v differ from testpki's %v/%v", OIDPolicyLoA3, OIDPolicyLoA2, testpki.PolicyLoA3, testpki.PolicyLoA2)
	}
}

func TestIdentityFromCertificates(t *testing.T) {
	p := newPKI(t)
	for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
		for _, v := range []testpki.Variant{testpki.Normal, testpki.Expired, testpki.Expiring, testpki.Reserve} {
			t.Run(fmt.Sprintf("%s/%s", key, v), func(t *testing.T) {
				spec := testpki.CardSpec{
					GivenName: "Åsa", Surname: "Öberg", HSAID: "SE2321000016-7x9Q",
					PersonalNumber: "197212240019", Key: key, Variant: v,
				}
				card, err := p.IssueCard(spec)
				if err != nil {
					t.Fatal(err)
				}
				id, err := IdentityFromCertificates(cardCerts(card), testNow)
				if err != nil {
					t.Fatal(err)
				}
				if id.Holder != (Holder{Name: "Åsa Öberg", GivenName: "Åsa", Surname: "Öberg"}) {
					t.Errorf("Holder = %+v", id.Holder)
				}
				if id.HSAID != spec.HSAID {
					t.Errorf("HSAID = %q, want %q", id.HSAID, spec.HSAID)
				}
				if id.PersonalNumber.Digits() != spec.PersonalNumber {
					t.Errorf("PersonalNumber = %q", id.PersonalNumber.Digits())
				}
				if got := id.PersonalNumber.Masked(); got != "19721224-XXXX" {
					t.Errorf("Masked = %q", got)
				}
				if id.CardNumber != card.Spec.CardNumber || id.CardNumber == "" {
					t.Errorf("CardNumber = %q, want %q", id.CardNumber, card.Spec.CardNumber)
				}
				if id.Issuer != testpki.HSAPersonCAName {
					t.Errorf("Issuer = %q", id.Issuer)
				}
				wantLoA, wantReserve := 3, false
				if v == testpki.Reserve {
					wantLoA, wantReserve = 2, true
				}
				if id.LoA != wantLoA || id.Reserve != wantReserve {
					t.Errorf("LoA %d Reserve %v, want %d %v", id.LoA, id.Reserve, wantLoA, wantReserve)
				}
				if !id.NotAfter.Equal(card.HSAAuth.Cert.NotAfter) || !id.NotBefore.Equal(card.HSAAuth.Cert.NotBefore) {
					t.Errorf("validity %v–%v", id.NotBefore, id.NotAfter)
				}
				login, ok := id.Login()
				if !ok || login.ID != "9a" {
					t.Fatalf("Login = %+v, %v; want slot 9a", login.ID, ok)
				}
				want := map[string]struct {
					kind  CertKind
					usage CertUsage
				}{
					"9a": {KindHSAID, UsageAuth}, "9c": {KindHSAID, UsageSign},
					"82": {KindPersonalNumber, UsageAuth}, "83": {KindPersonalNumber, UsageSign},
				}
				logins := 0
				for _, c := range id.Certificates {
					w := want[c.ID]
					if c.Kind != w.kind || c.Usage != w.usage {
						t.Errorf("%s: kind %s usage %s, want %s %s", c.ID, c.Kind, c.Usage, w.kind, w.usage)
					}
					if c.Login {
						logins++
					}
					if len(c.SHA256) != 64 {
						t.Errorf("%s: SHA256 %q", c.ID, c.SHA256)
					}
				}
				if logins != 1 {
					t.Errorf("%d login certificates", logins)
				}
				expired := id.Expired(testNow)
				expiring := id.ExpiringWithin(testNow, 30*24*time.Hour)
				switch v {
				case testpki.Expired:
					if len(expired) != 4 || len(expiring) != 0 {
						t.Errorf("expired %d expiring %d, want 4 0", len(expired), len(expiring))
					}
				case testpki.Expiring, testpki.Reserve:
					if len(expired) != 0 || len(expiring) != 4 {
						t.Errorf("expired %d expiring %d, want 0 4", len(expired), len(expiring))
					}
				default:
					if len(expired) != 0 || len(expiring) != 0 {
						t.Errorf("expired %d expiring %d, want 0 0", len(expired), len(expiring))
					}
				}
				if id.TooManyCertificates() {
					t.Error("4 certificates flagged as too many")
				}
			})
		}
	}
}

func TestIdentityLoginPrefersValidNewest(t *testing.T) {
	p := newPKI(t)
	old, err := p.IssueCard(testpki.CardSpec{Variant: testpki.Expired})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := p.IssueCard(testpki.CardSpec{})
	if err != nil {
		t.Fatal(err)
	}
	certs := []Certificate{
		{ID: "82", Cert: old.HSAAuth.Cert},
		{ID: "9a", Cert: cur.HSAAuth.Cert},
		{ID: "83", Cert: old.HSASign.Cert},
		{ID: "84", Cert: old.PNAuth.Cert},
		{ID: "85", Cert: old.PNSign.Cert},
		{ID: "9c", Cert: cur.HSASign.Cert},
		{ID: "86", Cert: cur.PNAuth.Cert},
	}
	id, err := IdentityFromCertificates(certs, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := id.Login(); l.ID != "9a" {
		t.Errorf("login %q, want the valid 9a over the expired 82", l.ID)
	}
	if !id.TooManyCertificates() {
		t.Error("7 certificates not flagged")
	}
	if n := len(id.Expired(testNow)); n != 4 {
		t.Errorf("%d expired, want 4", n)
	}
}

func TestIdentityNoCertificates(t *testing.T) {
	if _, err := IdentityFromCertificates(nil, testNow); err != ErrNoCertificates {
		t.Errorf("err = %v", err)
	}
}

func TestIdentityWithoutSITHSProfile(t *testing.T) {
	p := newPKI(t)
	srv, err := p.ServerCert("localhost")
	if err != nil {
		t.Fatal(err)
	}
	id, err := IdentityFromCertificates([]Certificate{{ID: "9a", Cert: srv.Cert}}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if id.HSAID != "" || id.PersonalNumber != "" || id.CardNumber != "" || id.LoA != 0 {
		t.Errorf("identity from a server certificate: %+v", id)
	}
	if _, ok := id.Login(); ok {
		t.Error("a server certificate became the login certificate")
	}
}

func TestPersonalNumber(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		birth  string
		luhnOK bool
	}{
		{"199001012385", true, "1990-01-01", true},
		{"197212240019", true, "1972-12-24", true},
		{"199001612382", true, "1990-01-01", true}, // coordination number: day+60
		{"199013012385", false, "", false},         // month 13
		{"199002302385", false, "", false},         // 30 February
		{"19900101238", false, "", false},
		{"19900101-2385", false, "", false},
		{"SE2321000016-1234", false, "", false},
	} {
		p := ParsePersonalNumber(tc.in)
		if (p != "") != tc.ok {
			t.Errorf("%s: parsed %q", tc.in, p)
			continue
		}
		if !tc.ok {
			continue
		}
		d, _ := p.BirthDate()
		if d.Format(time.DateOnly) != tc.birth {
			t.Errorf("%s: birth %v", tc.in, d)
		}
		if p.ChecksumOK() != tc.luhnOK {
			t.Errorf("%s: ChecksumOK %v", tc.in, p.ChecksumOK())
		}
	}
	p := ParsePersonalNumber("199001012385")
	if s := fmt.Sprintf("%v %s", p, p); strings.Contains(s, "2385") {
		t.Errorf("personal number printed in clear: %s", s)
	}
	b, _ := json.Marshal(struct{ PN PersonalNumber }{p})
	if strings.Contains(string(b), "2385") {
		t.Errorf("personal number in JSON: %s", b)
	}
}

func TestIsHSAID(t *testing.T) {
	for s, want := range map[string]bool{
		"SE2321000016-1234": true, "SE2321000016-abcD9": true,
		"SE232100001-1234": false, "se2321000016-1234": false, "SE2321000016-": false,
		"SE2321000016-12 4": false, "199001012385": false,
	} {
		if IsHSAID(s) != want {
			t.Errorf("IsHSAID(%q) = %v", s, !want)
		}
	}
}

func TestUsageByKeyUsage(t *testing.T) {
	for _, tc := range []struct {
		ku   x509.KeyUsage
		want CertUsage
	}{
		{x509.KeyUsageDigitalSignature, UsageAuth},
		{x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, UsageAuth},
		{x509.KeyUsageContentCommitment, UsageSign},
		{x509.KeyUsageKeyEncipherment, UsageOther},
	} {
		if got := usageOf(&x509.Certificate{KeyUsage: tc.ku}); got != tc.want {
			t.Errorf("KeyUsage %b: %s, want %s", tc.ku, got, tc.want)
		}
	}
}
