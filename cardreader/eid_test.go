package cardreader

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// eidCerts lays a testpki card with extra eIDs out as the PIV backend reads
// it: the first eID in 9A/9C, the personal-number pair in 82/83, extra eIDs
// in the following retired key-management slots.
func eidCerts(c *testpki.Card, withPN bool) []Certificate {
	certs := []Certificate{
		{ID: "9a", Cert: c.HSAAuth.Cert},
		{ID: "9c", Cert: c.HSASign.Cert},
	}
	if withPN {
		certs = append(certs, Certificate{ID: "82", Cert: c.PNAuth.Cert}, Certificate{ID: "83", Cert: c.PNSign.Cert})
	}
	for i, e := range c.EIDs {
		certs = append(certs,
			Certificate{ID: fmt.Sprintf("%02x", 0x84+2*i), Cert: e.Auth.Cert},
			Certificate{ID: fmt.Sprintf("%02x", 0x85+2*i), Cert: e.Sign.Cert})
	}
	return certs
}

func TestIdentityEIDs(t *testing.T) {
	p := newPKI(t)
	type wantEID struct {
		org, orgNr, hsaID, auth, sign string
		def, expired                  bool
	}
	sthlm := testpki.EIDSpec{Organization: "Region Stockholm", HSAID: "SE2321000016-1234"}
	jkpg := testpki.EIDSpec{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678"}
	vgr := testpki.EIDSpec{Organization: "Västra Götalandsregionen", HSAID: "SE2321000131-9999"}
	for _, tc := range []struct {
		name    string
		spec    testpki.CardSpec
		withPN  bool
		wantPN  bool
		want    []wantEID
		wantHSA string
	}{
		{
			name: "one eID (the demo card)", withPN: true, wantPN: true,
			spec:    testpki.CardSpec{HSAID: sthlm.HSAID, Organization: sthlm.Organization},
			want:    []wantEID{{sthlm.Organization, "SE2321000016", sthlm.HSAID, "9a", "9c", true, false}},
			wantHSA: sthlm.HSAID,
		},
		{
			name: "two organisations", withPN: true, wantPN: true,
			spec: testpki.CardSpec{HSAID: sthlm.HSAID, Organization: sthlm.Organization, EIDs: []testpki.EIDSpec{jkpg}},
			want: []wantEID{
				{sthlm.Organization, "SE2321000016", sthlm.HSAID, "9a", "9c", true, false},
				{jkpg.Organization, "SE2321000057", jkpg.HSAID, "84", "85", false, false},
			},
			wantHSA: sthlm.HSAID,
		},
		{
			name: "all expired but one", withPN: true, wantPN: true,
			spec: testpki.CardSpec{HSAID: sthlm.HSAID, Organization: sthlm.Organization, Variant: testpki.Expired,
				EIDs: []testpki.EIDSpec{jkpg, {Organization: vgr.Organization, HSAID: vgr.HSAID, Variant: testpki.Normal}}},
			want: []wantEID{
				{sthlm.Organization, "SE2321000016", sthlm.HSAID, "9a", "9c", false, true},
				{jkpg.Organization, "SE2321000057", jkpg.HSAID, "84", "85", false, true},
				{vgr.Organization, "SE2321000131", vgr.HSAID, "86", "87", true, false},
			},
			wantHSA: vgr.HSAID,
		},
		{
			name: "no personal-number pair", withPN: false, wantPN: false,
			spec: testpki.CardSpec{HSAID: sthlm.HSAID, Organization: sthlm.Organization, EIDs: []testpki.EIDSpec{jkpg}},
			want: []wantEID{
				{sthlm.Organization, "SE2321000016", sthlm.HSAID, "9a", "9c", true, false},
				{jkpg.Organization, "SE2321000057", jkpg.HSAID, "84", "85", false, false},
			},
			wantHSA: sthlm.HSAID,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card, err := p.IssueCard(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			id, err := IdentityFromCertificates(eidCerts(card, tc.withPN), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(id.EIDs) != len(tc.want) {
				t.Fatalf("%d eIDs, want %d: %+v", len(id.EIDs), len(tc.want), id.EIDs)
			}
			for i, w := range tc.want {
				e := id.EIDs[i]
				got := wantEID{e.Organisation, e.OrganisationNumber, e.HSAID, e.Auth, e.Sign, e.Default, e.Expired(testNow)}
				if got != w {
					t.Errorf("eID %d = %+v, want %+v", i, got, w)
				}
				if !slices.Equal(e.CertIDs, []string{w.auth, w.sign}) {
					t.Errorf("eID %d CertIDs = %v", i, e.CertIDs)
				}
				if e.LoA != 3 {
					t.Errorf("eID %d LoA = %d", i, e.LoA)
				}
			}
			if id.HSAID != tc.wantHSA {
				t.Errorf("HSAID = %q, want %q", id.HSAID, tc.wantHSA)
			}
			if d, ok := id.DefaultEID(); !ok || d.HSAID != tc.wantHSA {
				t.Errorf("DefaultEID = %+v, %v", d, ok)
			}
			if l, ok := id.Login(); !ok || l.HSAID != tc.wantHSA {
				t.Errorf("Login = %q, %v", l.HSAID, ok)
			}
			if (id.PersonalNumber != "") != tc.wantPN || (len(id.PersonalPair) == 2) != tc.wantPN {
				t.Errorf("PersonalNumber %q, pair %d, want present=%v", id.PersonalNumber, len(id.PersonalPair), tc.wantPN)
			}
			if id.Holder.Name != "Anna Svensson" {
				t.Errorf("Holder = %+v", id.Holder)
			}
		})
	}
}

func TestIdentitySetDefault(t *testing.T) {
	p := newPKI(t)
	card, err := p.IssueCard(testpki.CardSpec{HSAID: "SE2321000016-1234", Organization: "Region Stockholm",
		EIDs: []testpki.EIDSpec{{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678"}}})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := IdentityFromCertificates(eidCerts(card, true), testNow)
	if err != nil {
		t.Fatal(err)
	}
	id := orig
	if id.SetDefault("SE2321000099-0000") {
		t.Error("SetDefault of an HSA-ID not on the card succeeded")
	}
	if !id.SetDefault("SE2321000057-5678") {
		t.Fatal("SetDefault failed")
	}
	if l, _ := id.Login(); l.ID != "84" || id.HSAID != "SE2321000057-5678" || id.Issuer != testpki.HSAPersonCA2Name {
		t.Errorf("after SetDefault: login %q, HSAID %q, issuer %q", l.ID, id.HSAID, id.Issuer)
	}
	if d, _ := id.DefaultEID(); d.Organisation != "Region Jönköpings län" {
		t.Errorf("default eID %+v", d)
	}
	// The copy it came from (what the identity cache holds) is unchanged.
	if l, _ := orig.Login(); l.ID != "9a" || orig.HSAID != "SE2321000016-1234" || !orig.EIDs[0].Default {
		t.Errorf("SetDefault changed the identity it was copied from: login %q, HSAID %q", l.ID, orig.HSAID)
	}
	if e, ok := id.EIDOf("85"); !ok || e.OrganisationNumber != "SE2321000057" {
		t.Errorf("EIDOf(85) = %+v, %v", e, ok)
	}
	if got := id.EIDsOfOrganisation("SE2321000016"); len(got) != 1 || got[0].HSAID != "SE2321000016-1234" {
		t.Errorf("EIDsOfOrganisation = %+v", got)
	}
}
