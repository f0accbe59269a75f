package agent_test

import (
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
)

// A card with two organisations' eIDs whose second one expires soon: the
// agent's expiry notification names that organisation and HSA-ID, and the
// published card summary lists both eIDs (the tray's menu).
func TestAgentExpiryNotificationNamesOrganisation(t *testing.T) {
	second := testpki.EIDSpec{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678", Variant: testpki.Expiring}
	f := setup(t, cardkind.PIV, testpki.CardSpec{Organization: "Region Stockholm", HSAID: testpki.DefaultHSAID,
		EIDs: []testpki.EIDSpec{second}})
	ar := startAgent(t, f.Svc, f.Env, "")
	exp, _ := ar.Notes.Wait(t, localapi.NotifyCertificateExpiring, 0)
	if exp.Organisation != second.Organization || exp.HSAID != second.HSAID {
		t.Fatalf("expiry notification %+v, want the organisation %q and HSA-ID %s", exp, second.Organization, second.HSAID)
	}
	c := ar.Agent.State().Card
	if c == nil || len(c.EIDs) != 2 || c.EIDs[1].Organisation != second.Organization {
		t.Fatalf("published card %+v", c)
	}
}
