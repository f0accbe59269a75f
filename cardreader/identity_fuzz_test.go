package cardreader

import (
	"crypto/x509"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// FuzzIdentityFromDER reads a SITHS identity from arbitrary DER, as the
// backends do with what a card returns: the input is up to four
// certificates, each behind a 2-byte length. Whatever parses as X.509 goes
// through IdentityFromCertificates. No panic; at most one login
// certificate, and it is an HSA-ID authentication certificate; a personal
// number is never shown unmasked by its String form; an HSA-ID the
// identity names comes from one of its certificates.
//
// Seeds: the test PKI's card (normal, reserve, P-256) with its
// certificates mutated by the fuzzer, plus testdata/fuzz/FuzzIdentityFromDER.
func FuzzIdentityFromDER(f *testing.F) {
	p, err := testpki.New(testpki.Options{Seed: "cardreader-fuzz", Now: testNow})
	if err != nil {
		f.Fatal(err)
	}
	for _, spec := range []testpki.CardSpec{{}, {Variant: testpki.Reserve}, {Key: testpki.P256, Variant: testpki.Expired}} {
		c, err := p.IssueCard(spec)
		if err != nil {
			f.Fatal(err)
		}
		var in []byte
		for _, ci := range cardCerts(c) {
			in = binary.BigEndian.AppendUint16(in, uint16(len(ci.Cert.Raw)))
			in = append(in, ci.Cert.Raw...)
		}
		f.Add(in)
		f.Add(in[:len(in)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var certs []Certificate
		for i := 0; i < 4 && len(data) >= 2; i++ {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			n = min(n, len(data))
			der := data[:n]
			data = data[n:]
			x, err := x509.ParseCertificate(der)
			if err != nil {
				continue
			}
			certs = append(certs, Certificate{ID: []string{"9a", "9c", "82", "83"}[i], Cert: x})
		}
		id, err := IdentityFromCertificates(certs, testNow)
		if err != nil {
			if len(certs) != 0 {
				t.Fatalf("%d certificates, yet %v", len(certs), err)
			}
			return
		}
		logins, hsaIDs := 0, map[string]bool{}
		for _, c := range id.Certificates {
			hsaIDs[c.HSAID] = true
			if c.Login {
				logins++
				if c.Kind != KindHSAID || c.Usage != UsageAuth {
					t.Fatalf("login certificate of kind %q usage %q", c.Kind, c.Usage)
				}
			}
			_ = c.Expired(testNow)
		}
		if logins > 1 {
			t.Fatalf("%d login certificates", logins)
		}
		if id.HSAID != "" && !hsaIDs[id.HSAID] {
			t.Fatalf("HSA-ID %q from no certificate", id.HSAID)
		}
		if pn := id.PersonalNumber; len(pn) >= 12 && strings.Contains(pn.String(), string(pn[8:])) && pn.Masked() != pn.Digits() {
			t.Fatalf("personal number shown unmasked: %q", pn.String())
		}
		_, _ = id.Login()
		_ = id.ExpiringWithin(testNow, 30*24*3600e9)
		_ = id.TooManyCertificates()
	})
}
