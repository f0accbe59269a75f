package agent_test

import (
	"context"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
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

// The approval's choice of eID crosses the local API: a client that picks
// the second organisation's eID in the approval (app.LoginApproval.Choose),
// offered both with the default preselected, logs in as that HSA-ID and
// the relying party's collect shows it.
func TestAgentLoginApprovalChoosesEID(t *testing.T) {
	second := testpki.EIDSpec{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678"}
	f := setup(t, cardkind.PIV, testpki.CardSpec{Organization: "Region Stockholm", HSAID: testpki.DefaultHSAID,
		EIDs: []testpki.EIDSpec{second}})
	ar := startAgent(t, f.Svc, f.Env, "")
	ctx := context.Background()
	o, err := f.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ar.Addr)
	rec, err := c.Handoff(ctx, oob.AutoStartURL(o.AutoStartToken, ""))
	if err != nil {
		t.Fatal(err)
	}
	var offered []app.EIDChoice
	res, err := c.LoginHandoff(ctx, rec.ID, app.LoginRequest{
		Prompt: agenttest.PINPrompt(f.Card.PIN),
		Approve: func(_ context.Context, a app.LoginApproval) error {
			offered = a.EIDs
			a.Choose(second.HSAID)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(offered) != 2 || !offered[0].Default || offered[0].Organisation != "Region Stockholm" || offered[1].HSAID != second.HSAID {
		t.Fatalf("offered %+v", offered)
	}
	if res.HSAID != second.HSAID {
		t.Fatalf("logged in as %q, want %s", res.HSAID, second.HSAID)
	}
	col, err := f.RP.Collect(ctx, o.OrderRef)
	if err != nil || col.Status != oob.StatusComplete || col.CompletionData.User.HSAID != second.HSAID {
		t.Fatalf("collect %+v %v", col, err)
	}
}
