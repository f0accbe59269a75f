package testpki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

// testNow is a fixed reference time so that tests do not depend on the clock.
var testNow = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func newPKI(t testing.TB, opts Options) *PKI {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func issue(t testing.TB, p *PKI, spec CardSpec) *Card {
	t.Helper()
	c, err := p.IssueCard(spec)
	if err != nil {
		t.Fatalf("IssueCard(%+v): %v", spec, err)
	}
	return c
}

func verify(p *PKI, cred Credential, at time.Time, eku x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range cred.Chain {
		inter.AddCert(c)
	}
	_, err := cred.Cert.Verify(x509.VerifyOptions{
		Roots:         p.Roots(),
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{eku},
	})
	return err
}

func TestCAs(t *testing.T) {
	p := newPKI(t, Options{})
	if got := p.Root.Cert.Subject.CommonName; got != RootCAName {
		t.Errorf("root CN = %q", got)
	}
	if err := p.Root.Cert.CheckSignatureFrom(p.Root.Cert); err != nil {
		t.Errorf("root not self-signed: %v", err)
	}
	if len(p.Root.Chain) != 0 {
		t.Errorf("root chain has %d certificates, want 0", len(p.Root.Chain))
	}
	want := map[*CA]string{p.HSAPersonCA: HSAPersonCAName, p.PNPersonCA: PNPersonCAName, p.FunctionCA: FunctionCAName, p.HSAPersonCA2: HSAPersonCA2Name}
	for ca, name := range want {
		if ca.Cert.Subject.CommonName != name {
			t.Errorf("CA CN = %q, want %q", ca.Cert.Subject.CommonName, name)
		}
		if !ca.Cert.IsCA || ca.Cert.MaxPathLen != 0 || !ca.Cert.MaxPathLenZero {
			t.Errorf("%s: IsCA=%v MaxPathLen=%d", name, ca.Cert.IsCA, ca.Cert.MaxPathLen)
		}
		if len(ca.Chain) != 0 { // root excluded
			t.Errorf("%s: chain has %d certificates, want 0", name, len(ca.Chain))
		}
		if _, err := ca.Cert.Verify(x509.VerifyOptions{Roots: p.Roots(), CurrentTime: testNow,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s does not verify against root: %v", name, err)
		}
		if !bytes.Equal(ca.Cert.AuthorityKeyId, p.Root.Cert.SubjectKeyId) {
			t.Errorf("%s: AKI does not match root SKI", name)
		}
	}
	// CA certificates do not depend on Now.
	p2 := newPKI(t, Options{Now: testNow.Add(1000 * 24 * time.Hour)})
	for i, ca := range append(p.IssuingCAs(), p.Root) {
		other := append(p2.IssuingCAs(), p2.Root)[i]
		if !bytes.Equal(ca.Cert.Raw, other.Cert.Raw) {
			t.Errorf("%s differs with another Now", ca.Cert.Subject.CommonName)
		}
	}
	want3 := x509.NewCertPool()
	for _, ca := range []*CA{p.HSAPersonCA, p.PNPersonCA, p.FunctionCA, p.HSAPersonCA2} {
		want3.AddCert(ca.Cert)
	}
	if !p.Intermediates().Equal(want3) {
		t.Error("Intermediates is not the four issuing CAs")
	}
	want1 := x509.NewCertPool()
	want1.AddCert(p.Root.Cert)
	if !p.Roots().Equal(want1) {
		t.Error("Roots is not just the root")
	}
}

func TestVariantsVerify(t *testing.T) {
	p := newPKI(t, Options{})
	for _, kt := range []KeyType{RSA2048, P256} {
		for _, v := range []Variant{Normal, Expired, Expiring, Reserve} {
			t.Run(string(kt)+"/"+string(v), func(t *testing.T) {
				c := issue(t, p, CardSpec{Key: kt, Variant: v})
				for i, cred := range c.Credentials() {
					name := []string{"HSAAuth", "HSASign", "PNAuth", "PNSign"}[i]
					eku := x509.ExtKeyUsageAny
					if i%2 == 0 {
						eku = x509.ExtKeyUsageClientAuth
					}
					err := verify(p, cred, testNow, eku)
					// Also through the shared pools, as a relying party would.
					_, errPools := cred.Cert.Verify(x509.VerifyOptions{Roots: p.Roots(),
						Intermediates: p.Intermediates(), CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{eku}})
					if v == Expired {
						var cie x509.CertificateInvalidError
						if !errors.As(err, &cie) || cie.Reason != x509.Expired {
							t.Errorf("%s: verify err = %v, want x509 Expired", name, err)
						}
						if !errors.As(errPools, &cie) || cie.Reason != x509.Expired {
							t.Errorf("%s: verify (pools) err = %v, want x509 Expired", name, errPools)
						}
						if !cred.Cert.NotAfter.Before(testNow.Add(-30 * 24 * time.Hour)) {
							t.Errorf("%s: expired NotAfter %v not well before Now", name, cred.Cert.NotAfter)
						}
						// It was valid once.
						if err := verify(p, cred, cred.Cert.NotAfter.Add(-time.Hour), eku); err != nil {
							t.Errorf("%s: expired cert did not verify during its validity: %v", name, err)
						}
						return
					}
					if err != nil || errPools != nil {
						t.Fatalf("%s: verify: %v / %v", name, err, errPools)
					}
					life := cred.Cert.NotAfter.Sub(cred.Cert.NotBefore)
					left := cred.Cert.NotAfter.Sub(testNow)
					switch v {
					case Normal:
						if LoA(cred.Cert) != 3 || life < 5*365*24*time.Hour || left < 4*365*24*time.Hour {
							t.Errorf("%s: normal LoA=%d life=%v left=%v", name, LoA(cred.Cert), life, left)
						}
						if !cred.Cert.NotBefore.Before(testNow.Add(-30 * 24 * time.Hour)) {
							t.Errorf("%s: NotBefore %v is not months before Now", name, cred.Cert.NotBefore)
						}
					case Expiring:
						if left <= 0 || left > 10*24*time.Hour || LoA(cred.Cert) != 3 {
							t.Errorf("%s: expiring left=%v LoA=%d", name, left, LoA(cred.Cert))
						}
						var cie x509.CertificateInvalidError
						err := verify(p, cred, testNow.Add(11*24*time.Hour), eku)
						if !errors.As(err, &cie) || cie.Reason != x509.Expired {
							t.Errorf("%s: 11 days later err = %v, want Expired", name, err)
						}
					case Reserve:
						if LoA(cred.Cert) != 2 || life != 14*24*time.Hour {
							t.Errorf("%s: reserve LoA=%d life=%v", name, LoA(cred.Cert), life)
						}
						if !cred.Cert.PolicyIdentifiers[0].Equal(PolicyLoA2) || len(cred.Cert.PolicyIdentifiers) != 1 {
							t.Errorf("%s: policies %v", name, cred.Cert.PolicyIdentifiers)
						}
					}
				}
			})
		}
	}
}

func TestCardProfile(t *testing.T) {
	p := newPKI(t, Options{OCSPURL: "http://127.0.0.1:8080/ocsp"})
	spec := CardSpec{GivenName: "Örjan", Surname: "Åström", HSAID: "SE2321000016-abC9",
		PersonalNumber: "200002292381", CardNumber: "9752269000000012345", Organization: "Region Norr", Key: P256}
	if err := ValidPersonalNumber(spec.PersonalNumber); err != nil {
		t.Fatal(err)
	}
	c := issue(t, p, spec)
	for i, cred := range c.Credentials() {
		name := []string{"HSAAuth", "HSASign", "PNAuth", "PNSign"}[i]
		cert := cred.Cert
		auth := i%2 == 0
		if IsAuthentication(cert) != auth || IsSigning(cert) == auth {
			t.Errorf("%s: IsAuthentication=%v IsSigning=%v KeyUsage=%b", name, IsAuthentication(cert), IsSigning(cert), cert.KeyUsage)
		}
		if auth {
			if cert.KeyUsage != x509.KeyUsageDigitalSignature { // P-256: no keyEncipherment
				t.Errorf("%s: KeyUsage %b", name, cert.KeyUsage)
			}
			if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
				t.Errorf("%s: EKU %v", name, cert.ExtKeyUsage)
			}
		} else if cert.KeyUsage != x509.KeyUsageContentCommitment || len(cert.ExtKeyUsage) != 0 {
			t.Errorf("%s: KeyUsage %b EKU %v", name, cert.KeyUsage, cert.ExtKeyUsage)
		}
		wantSerial := spec.HSAID
		issuer := HSAPersonCAName
		if i >= 2 {
			wantSerial, issuer = spec.PersonalNumber, PNPersonCAName
		}
		if cert.Subject.SerialNumber != wantSerial || cert.Issuer.CommonName != issuer {
			t.Errorf("%s: serialNumber %q issuer %q", name, cert.Subject.SerialNumber, cert.Issuer.CommonName)
		}
		if cert.Subject.CommonName != "Örjan Åström" || GivenName(cert.Subject) != "Örjan" || Surname(cert.Subject) != "Åström" {
			t.Errorf("%s: subject %v", name, cert.Subject)
		}
		if o := cert.Subject.Organization; len(o) != 1 || o[0] != "Region Norr" || cert.Subject.Country[0] != "SE" {
			t.Errorf("%s: O/C %v", name, cert.Subject)
		}
		if n, ok := ParseCardNumber(cert); !ok || n != spec.CardNumber {
			t.Errorf("%s: card number %q %v", name, n, ok)
		}
		if len(cert.OCSPServer) != 1 || cert.OCSPServer[0] != "http://127.0.0.1:8080/ocsp" {
			t.Errorf("%s: OCSP %v", name, cert.OCSPServer)
		}
		if _, ok := cred.Key.(*ecdsa.PrivateKey); !ok {
			t.Errorf("%s: key %T", name, cred.Key)
		}
		checkKeyMatches(t, name, cred)
	}
	// Four distinct keys.
	seen := map[string]bool{}
	for _, cred := range c.Credentials() {
		der, _ := x509.MarshalPKIXPublicKey(cred.Key.Public())
		seen[string(der)] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d distinct keys on the card, want 4", len(seen))
	}
	// CAs carry no card number.
	if _, ok := ParseCardNumber(p.HSAPersonCA.Cert); ok {
		t.Error("CA has a card number")
	}
	// No OCSP URL without the option.
	if c := issue(t, newPKI(t, Options{}), CardSpec{Key: P256}); len(c.HSAAuth.Cert.OCSPServer) != 0 {
		t.Errorf("OCSP %v without OCSPURL", c.HSAAuth.Cert.OCSPServer)
	}
}

// checkKeyMatches signs with the credential's key and verifies with the
// certificate, so a key that does not belong to its certificate fails.
func checkKeyMatches(t *testing.T, name string, cred Credential) {
	t.Helper()
	digest := sha256.Sum256([]byte("sithseid " + name))
	sig, err := cred.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("%s: sign: %v", name, err)
	}
	alg := x509.SHA256WithRSA
	if _, ok := cred.Key.(*ecdsa.PrivateKey); ok {
		alg = x509.ECDSAWithSHA256
	}
	if err := cred.Cert.CheckSignature(alg, []byte("sithseid "+name), sig); err != nil {
		t.Errorf("%s: key does not match certificate: %v", name, err)
	}
}

func TestRSACard(t *testing.T) {
	p := newPKI(t, Options{})
	c := issue(t, p, CardSpec{})
	if c.Spec.GivenName != "Anna" || c.Spec.Surname != "Svensson" || c.Spec.HSAID != DefaultHSAID ||
		c.Spec.PersonalNumber != DefaultPersonalNumber || c.Spec.Organization != "Region Test" ||
		c.Spec.Key != RSA2048 || c.Spec.Variant != Normal {
		t.Errorf("defaults: %+v", c.Spec)
	}
	if len(c.Spec.CardNumber) != 20 || ValidCardNumber(c.Spec.CardNumber) != nil ||
		luhnDigit(c.Spec.CardNumber[:19]) != c.Spec.CardNumber[19]-'0' {
		t.Errorf("default card number %q", c.Spec.CardNumber)
	}
	for i, cred := range c.Credentials() {
		k, ok := cred.Key.(*rsa.PrivateKey)
		if !ok {
			t.Fatalf("key %T", cred.Key)
		}
		if k.N.BitLen() != 2048 || k.E != 65537 {
			t.Errorf("RSA key: %d bits, e=%d", k.N.BitLen(), k.E)
		}
		if err := k.Validate(); err != nil {
			t.Error(err)
		}
		if i%2 == 0 && cred.Cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
			t.Errorf("RSA auth KeyUsage %b", cred.Cert.KeyUsage)
		}
		checkKeyMatches(t, "rsa", cred)
		// PSS too: TLS 1.3 client authentication needs it.
		digest := sha256.Sum256([]byte("pss"))
		sig, err := k.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		if err != nil || cred.Cert.CheckSignature(x509.SHA256WithRSAPSS, []byte("pss"), sig) != nil {
			t.Errorf("PSS signature: %v", err)
		}
	}
	// Another holder gets another card number and other keys.
	d := issue(t, p, CardSpec{HSAID: "SE2321000016-5678", PersonalNumber: "198112189876"})
	if d.Spec.CardNumber == c.Spec.CardNumber {
		t.Error("two holders share a card number")
	}
	if d.HSAAuth.Key.(*rsa.PrivateKey).N.Cmp(c.HSAAuth.Key.(*rsa.PrivateKey).N) == 0 {
		t.Error("two holders share a key")
	}
}

func TestValidation(t *testing.T) {
	p := newPKI(t, Options{})
	for _, tc := range []struct {
		spec CardSpec
		want error
	}{
		{CardSpec{HSAID: "SE232100001-1234"}, ErrInvalidHSAID},
		{CardSpec{HSAID: "SE2321000016"}, ErrInvalidHSAID},
		{CardSpec{HSAID: "SE2321000016-"}, ErrInvalidHSAID},
		{CardSpec{HSAID: "NO2321000016-1234"}, ErrInvalidHSAID},
		{CardSpec{HSAID: "SE2321000016-12 4"}, ErrInvalidHSAID},
		{CardSpec{HSAID: "SE23210000x6-1234"}, ErrInvalidHSAID},
		{CardSpec{PersonalNumber: "199001012384"}, ErrInvalidPersonalNumber}, // bad Luhn
		{CardSpec{PersonalNumber: "9001012385"}, ErrInvalidPersonalNumber},   // 10 digits
		{CardSpec{PersonalNumber: "199013012380"}, ErrInvalidPersonalNumber}, // month 13
		{CardSpec{PersonalNumber: "19900101238a"}, ErrInvalidPersonalNumber},
		{CardSpec{CardNumber: "1234-5678"}, ErrInvalidCardNumber},
		{CardSpec{Key: "rsa1024"}, ErrUnknownKeyType},
		{CardSpec{Variant: "revoked"}, ErrUnknownVariant},
	} {
		_, err := p.IssueCard(tc.spec)
		if !errors.Is(err, tc.want) {
			t.Errorf("IssueCard(%+v) err = %v, want %v", tc.spec, err, tc.want)
		}
	}
	for _, ok := range []string{"SE2321000016-1234", "SE1234567890-A1b2C3", "SE0000000000-x"} {
		if err := ValidHSAID(ok); err != nil {
			t.Errorf("ValidHSAID(%q) = %v", ok, err)
		}
	}
	// Personal numbers from Skatteverket's published test range and a
	// coordination number (day + 60).
	for _, ok := range []string{"199001012385", "191212121212", "201701632398"} {
		if err := ValidPersonalNumber(ok); err != nil {
			t.Errorf("ValidPersonalNumber(%q) = %v", ok, err)
		}
	}
}

func TestDeterminism(t *testing.T) {
	a := newPKI(t, Options{Seed: "alpha"})
	a2 := newPKI(t, Options{Seed: "alpha"})
	b := newPKI(t, Options{Seed: "beta"})
	if !a.Root.Cert.Equal(a2.Root.Cert) || !a.HSAPersonCA.Cert.Equal(a2.HSAPersonCA.Cert) {
		t.Error("same seed, different CA certificates")
	}
	if a.Root.Cert.Equal(b.Root.Cert) || a.Root.Key.(*rsa.PrivateKey).N.Cmp(b.Root.Key.(*rsa.PrivateKey).N) == 0 {
		t.Error("different seeds, same root")
	}
	if d := newPKI(t, Options{}); d.Seed() != DefaultSeed {
		t.Errorf("Seed() = %q", d.Seed())
	}
	ca, ca2 := issue(t, a, CardSpec{Key: P256}), issue(t, a2, CardSpec{Key: P256})
	for i := range ca.Credentials() {
		if !bytes.Equal(ca.Credentials()[i].Cert.Raw, ca2.Credentials()[i].Cert.Raw) {
			t.Errorf("credential %d differs for the same seed and Now", i)
		}
	}
	// A card from another seed must not verify against this PKI.
	cb := issue(t, b, CardSpec{Key: P256})
	if err := verify(a, Credential{Cert: cb.HSAAuth.Cert, Chain: []*x509.Certificate{a.HSAPersonCA.Cert}}, testNow, x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("a card of seed beta verifies against seed alpha")
	}
	// Issued later: other serial, same key.
	later := newPKI(t, Options{Seed: "alpha", Now: testNow.Add(time.Hour)})
	cl := issue(t, later, CardSpec{Key: P256})
	if cl.HSAAuth.Cert.SerialNumber.Cmp(ca.HSAAuth.Cert.SerialNumber) == 0 {
		t.Error("same serial at another Now")
	}
	if !cl.HSAAuth.Key.(*ecdsa.PrivateKey).Equal(ca.HSAAuth.Key) {
		t.Error("key changed with Now")
	}
}

// TestDerivationIndependentOfCache derives keys afresh and compares them
// with the cached ones, so determinism does not rest on the cache.
func TestDerivationIndependentOfCache(t *testing.T) {
	p := newPKI(t, Options{Seed: "alpha"})
	root, err := deriveRSA(newStream("alpha", "key/rsa2048/ca/root"), 2048)
	if err != nil {
		t.Fatal(err)
	}
	if !root.Equal(p.Root.Key) {
		t.Error("fresh root key differs from the cached one")
	}
	c := issue(t, p, CardSpec{Key: P256})
	purpose := fmt.Sprintf("card/%s/%s/%s/%s/hsa-auth", DefaultHSAID, DefaultPersonalNumber, c.Spec.CardNumber, Normal)
	k, err := deriveP256(newStream("alpha", "key/p256/"+purpose))
	if err != nil {
		t.Fatal(err)
	}
	if !k.Equal(c.HSAAuth.Key) {
		t.Error("fresh card key differs from the cached one")
	}
}

func TestConcurrentUse(t *testing.T) {
	p := newPKI(t, Options{Seed: "concurrent"})
	var wg sync.WaitGroup
	cards := make([]*Card, 8)
	errs := make([]error, 8)
	for i := range cards {
		wg.Go(func() {
			spec := CardSpec{Key: P256, HSAID: fmt.Sprintf("SE2321000016-%d", i%2)}
			cards[i], errs[i] = p.IssueCard(spec)
			if i == 0 {
				errs[i] = p.Revoke(cards[i].HSAAuth.Cert)
			}
		})
	}
	wg.Wait()
	for i, c := range cards {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(c.HSAAuth.Cert.Raw, cards[i%2].HSAAuth.Cert.Raw) {
			t.Errorf("card %d differs from card %d with the same spec", i, i%2)
		}
	}
}

func TestParseFlags(t *testing.T) {
	if k, err := ParseKeyType("p256"); err != nil || k != P256 {
		t.Errorf("ParseKeyType(p256) = %q, %v", k, err)
	}
	if _, err := ParseKeyType("ed25519"); !errors.Is(err, ErrUnknownKeyType) {
		t.Errorf("ParseKeyType(ed25519) err = %v", err)
	}
	if v, err := ParseVariant("reserve"); err != nil || v != Reserve {
		t.Errorf("ParseVariant(reserve) = %q, %v", v, err)
	}
	if _, err := ParseVariant("Normal"); !errors.Is(err, ErrUnknownVariant) {
		t.Errorf("ParseVariant(Normal) err = %v", err)
	}
}

// goldenSet issues everything the golden file covers.
func goldenSet(t testing.TB) []struct {
	name string
	cert *x509.Certificate
} {
	p := newPKI(t, Options{Seed: "golden", OCSPURL: "http://127.0.0.1:8080/ocsp"})
	type entry = struct {
		name string
		cert *x509.Certificate
	}
	out := []entry{{"root", p.Root.Cert}, {"hsa-person-ca", p.HSAPersonCA.Cert},
		{"pn-person-ca", p.PNPersonCA.Cert}, {"function-ca", p.FunctionCA.Cert}}
	for _, kt := range []KeyType{RSA2048, P256} {
		for _, v := range []Variant{Normal, Expired, Expiring, Reserve} {
			c := issue(t, p, CardSpec{Key: kt, Variant: v})
			for i, cred := range c.Credentials() {
				out = append(out, entry{fmt.Sprintf("card/%s/%s/%s", kt, v, []string{"hsa-auth", "hsa-sign", "pn-auth", "pn-sign"}[i]), cred.Cert})
			}
		}
	}
	s, err := p.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, entry{"server/localhost,127.0.0.1", s.Cert})
}

func TestGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("# SHA-256 of the DER of each certificate, Seed \"golden\", Now " + testNow.Format(time.RFC3339) + ".\n")
	b.WriteString("# Refresh: go test ./internal/testkit/testpki -run TestGolden -update\n")
	for _, e := range goldenSet(t) {
		fmt.Fprintf(&b, "%x %s\n", sha256.Sum256(e.cert.Raw), e.name)
	}
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("certificates changed; if intended, run with -update.\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestOpenSSLVerify(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		testenv.Missing(t, "openssl not installed")
	}
	p := newPKI(t, Options{Now: time.Now()})
	dir := t.TempDir()
	if err := p.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, kt := range []KeyType{RSA2048, P256} {
		c := issue(t, p, CardSpec{Key: kt})
		expired := issue(t, p, CardSpec{Key: kt, Variant: Expired})
		for name, tc := range map[string]struct {
			cred Credential
			ok   bool
		}{
			"hsa-auth": {c.HSAAuth, true}, "pn-sign": {c.PNSign, true}, "expired": {expired.HSAAuth, false},
		} {
			leaf := filepath.Join(dir, string(kt)+"-"+name+".pem")
			if err := os.WriteFile(leaf, tc.cred.CertPEM(), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"verify", "-CAfile", filepath.Join(dir, "root.pem"), "-untrusted", filepath.Join(dir, "cas.pem")}
			if strings.HasSuffix(name, "auth") {
				args = append(args, "-purpose", "sslclient")
			}
			out, err := exec.Command(openssl, append(args, leaf)...).CombinedOutput()
			if tc.ok && (err != nil || !strings.Contains(string(out), ": OK")) {
				t.Errorf("openssl verify %s/%s: %v\n%s", kt, name, err, out)
			}
			if !tc.ok && (err == nil || !strings.Contains(string(out), "expired")) {
				t.Errorf("openssl verify accepted expired %s: %v\n%s", kt, err, out)
			}
		}
	}
	// The key PEM is one openssl reads and matches to the certificate.
	c := issue(t, p, CardSpec{Key: RSA2048})
	keyPEM, err := c.HSAAuth.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pubFromKey, err := exec.Command(openssl, "pkey", "-in", keyFile, "-pubout").Output()
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "cert.pem")
	os.WriteFile(certFile, c.HSAAuth.CertPEM(), 0o644)
	pubFromCert, err := exec.Command(openssl, "x509", "-in", certFile, "-noout", "-pubkey").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pubFromKey, pubFromCert) {
		t.Error("openssl: key PEM does not match certificate")
	}
}

func TestPEM(t *testing.T) {
	p := newPKI(t, Options{})
	c := issue(t, p, CardSpec{Key: P256})
	block, rest := pem.Decode(c.HSAAuth.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 || !bytes.Equal(block.Bytes, c.HSAAuth.Cert.Raw) {
		t.Error("CertPEM")
	}
	chain := c.HSAAuth.ChainPEM()
	block, rest = pem.Decode(chain)
	if block == nil || !bytes.Equal(block.Bytes, p.HSAPersonCA.Cert.Raw) || len(bytes.TrimSpace(rest)) != 0 {
		t.Error("ChainPEM is not [HSA person CA]")
	}
	keyPEM, err := c.HSAAuth.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tls.X509KeyPair(c.HSAAuth.FullChainPEM(), keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	if len(tc.Certificate) != 2 {
		t.Errorf("full chain has %d certificates", len(tc.Certificate))
	}
	dir := t.TempDir()
	if err := p.WriteDir(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	cas, _ := os.ReadFile(filepath.Join(dir, "sub", "cas.pem"))
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cas) || !pool.Equal(p.Intermediates()) {
		t.Error("cas.pem does not hold the four issuing CAs")
	}
}

// TestMutualTLS runs a real TLS 1.3 handshake: a server certificate from
// FunctionCA, a client authenticating with a card's HSA-ID auth credential.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t, Options{Now: time.Now()})
	srv, err := p.ServerCert("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Cert.IPAddresses) != 1 || len(srv.Cert.DNSNames) != 1 || srv.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("server cert SAN/EKU: %v %v %v", srv.Cert.DNSNames, srv.Cert.IPAddresses, srv.Cert.ExtKeyUsage)
	}
	if _, err := p.ServerCert("bad name"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("ServerCert(bad name) err = %v", err)
	}
	for _, kt := range []KeyType{RSA2048, P256} {
		card := issue(t, p, CardSpec{Key: kt})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{
			TLSConfig: &tls.Config{
				Certificates: []tls.Certificate{srv.TLSCertificate()},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    p.Roots(),
				MinVersion:   tls.VersionTLS13,
			},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				leaf := r.TLS.PeerCertificates[0]
				n, _ := ParseCardNumber(leaf)
				fmt.Fprintf(w, "%s %s", leaf.Subject.SerialNumber, n)
			}),
		}
		go hs.ServeTLS(ln, "", "")
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      p.Roots(),
			Certificates: []tls.Certificate{card.HSAAuth.TLSCertificate()},
		}}}
		resp, err := client.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			hs.Close()
			t.Fatalf("%s: mTLS GET: %v", kt, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hs.Close()
		if want := DefaultHSAID + " " + card.Spec.CardNumber; string(body) != want {
			t.Errorf("%s: server saw %q, want %q", kt, body, want)
		}
	}
}

func BenchmarkNewIssueCard(b *testing.B) {
	for _, kt := range []KeyType{RSA2048, P256} {
		b.Run(string(kt), func(b *testing.B) {
			// Derive (and cache) the keys outside the measurement: this
			// measures what every test after the first pays.
			if p, err := New(Options{Now: testNow}); err != nil {
				b.Fatal(err)
			} else if _, err := p.IssueCard(CardSpec{Key: kt}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				p, err := New(Options{Now: testNow})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.IssueCard(CardSpec{Key: kt}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeriveRSA measures an uncached RSA-2048 key derivation.
func BenchmarkDeriveRSA(b *testing.B) {
	i := 0
	for b.Loop() {
		if _, err := deriveRSA(newStream("bench", fmt.Sprint(i)), 2048); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
