package tray

import (
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/localapi"
)

// A card with two organisations' eIDs: the menu lists both (organisation,
// HSA-ID, valid until, which is the default) instead of one HSA-ID line;
// the tooltip and the expiry notification name the organisation whose eID
// expires. A one-eID card keeps its one HSA-ID line.
func TestMenuListsEveryEID(t *testing.T) {
	until := time.Date(2031, 9, 3, 12, 0, 0, 0, time.UTC)
	soon := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	c := card(func(c *localapi.CardSummary) {
		c.EIDs = []app.EIDStatus{
			{Organisation: "Region Stockholm", HSAID: "SE2321000016-1234", Default: true, CertIDs: []string{"9a", "9c"}, NotAfter: &until},
			{Organisation: "Region Jönköpings län", HSAID: "SE2321000057-5678", CertIDs: []string{"84", "85"}, NotAfter: &soon},
		}
		c.Warnings = []app.Warning{{Code: app.WarnCertificateExpiring, CertID: "84", Days: 9, Organisation: "Region Jönköpings län", HSAID: "SE2321000057-5678"}}
	})
	m := Build(View{State: localapi.State{Readers: reader(true), Card: c, Cards: 1}}, sv)
	if m.HSAID.Visible {
		t.Errorf("the single HSA-ID line shows on a two-eID card: %q", m.HSAID.Label)
	}
	want := []string{
		"Region Stockholm: SE2321000016-1234, giltig till 2031-09-03 (förvald)",
		"Region Jönköpings län: SE2321000057-5678, giltig till 2027-01-01",
	}
	for i, w := range want {
		if !m.EIDs[i].Visible || m.EIDs[i].Label != w || m.EIDs[i].Enabled {
			t.Errorf("eID line %d: %+v, want %q (information, not enabled)", i, m.EIDs[i], w)
		}
	}
	for i := len(want); i < MaxEIDs; i++ {
		if m.EIDs[i].Visible {
			t.Errorf("eID line %d shown: %+v", i, m.EIDs[i])
		}
	}
	if !strings.Contains(m.Tooltip, "SITHS eID från Region Jönköpings län går ut om 9 dagar") {
		t.Errorf("tooltip %q does not name the organisation", m.Tooltip)
	}
	msg, ok := Phrase(localapi.Notification{Kind: localapi.NotifyCertificateExpiring, CardNumber: "1001", CertID: "84", Days: 9,
		Organisation: "Region Jönköpings län", HSAID: "SE2321000057-5678"}, en)
	if !ok || !strings.Contains(msg.Body, "The SITHS eID of Region Jönköpings län (SE2321000057-5678) on card 1001 expires in 9 days") {
		t.Errorf("notification %+v", msg)
	}

	one := Build(View{State: localapi.State{Readers: reader(true), Card: card(nil), Cards: 1}}, sv)
	if !one.HSAID.Visible || one.HSAID.Label != "SE2321000016-1234" || one.EIDs[0].Visible {
		t.Errorf("one-eID card: HSA-ID %+v, eID line %+v", one.HSAID, one.EIDs[0])
	}
}
