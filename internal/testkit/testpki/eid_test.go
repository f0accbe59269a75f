package testpki

import (
	"crypto/x509"
	"errors"
	"testing"
)

func TestIssueCardWithSeveralEIDs(t *testing.T) {
	p := newPKI(t, Options{})
	jkpg, err := ParseEIDSpec("Region Jönköpings län:SE2321000057-5678")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.IssueCard(CardSpec{Organization: "Region Stockholm", HSAID: "SE2321000016-1234", EIDs: []EIDSpec{jkpg}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.EIDs) != 1 || c.EIDs[0].Spec.Variant != Normal {
		t.Fatalf("EIDs = %+v", c.EIDs)
	}
	e := c.EIDs[0]
	for _, cred := range []Credential{e.Auth, e.Sign} {
		s := cred.Cert.Subject
		if s.SerialNumber != jkpg.HSAID || len(s.Organization) != 1 || s.Organization[0] != jkpg.Organization {
			t.Errorf("subject %v", s)
		}
		if cred.Cert.Issuer.CommonName != HSAPersonCA2Name {
			t.Errorf("issuer %q, want %q", cred.Cert.Issuer.CommonName, HSAPersonCA2Name)
		}
		if err := cred.Cert.CheckSignatureFrom(p.HSAPersonCA2.Cert); err != nil {
			t.Error(err)
		}
		if _, err := cred.Cert.Verify(x509.VerifyOptions{Roots: p.Roots(), Intermediates: p.Intermediates(),
			CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Error(err)
		}
	}
	if !IsAuthentication(e.Auth.Cert) || !IsSigning(e.Sign.Cert) || LoA(e.Auth.Cert) != 3 {
		t.Error("the extra eID's pair is not an LoA3 auth/sign pair")
	}
	if c.HSAAuth.Cert.Subject.Organization[0] != "Region Stockholm" || c.HSAAuth.Cert.Issuer.CommonName != HSAPersonCAName {
		t.Errorf("first eID: %v from %q", c.HSAAuth.Cert.Subject, c.HSAAuth.Cert.Issuer.CommonName)
	}
	if c.EIDs[0].Auth.Key == c.HSAAuth.Key {
		t.Error("the two eIDs share a key")
	}

	for _, bad := range []string{"SE2321000057-5678", "Region X:SE12-1", ":SE2321000057-5678"} {
		if _, err := ParseEIDSpec(bad); err == nil {
			t.Errorf("ParseEIDSpec(%q) succeeded", bad)
		}
	}
	if _, err := p.IssueCard(CardSpec{HSAID: "SE2321000016-1234", EIDs: []EIDSpec{{Organization: "X", HSAID: "SE2321000016-1234"}}}); err == nil {
		t.Error("an HSA-ID twice on one card was issued")
	}
	if _, err := p.IssueCard(CardSpec{EIDs: []EIDSpec{{Organization: "X", HSAID: "bad"}}}); !errors.Is(err, ErrInvalidHSAID) {
		t.Errorf("bad extra HSA-ID: %v", err)
	}
}
