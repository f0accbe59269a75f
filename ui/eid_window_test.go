//go:build linux

package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// A card with two organisations' SITHS eIDs in the real approval window
// (Xvfb, xdotool): Alt+O, typed with the focus in the PIN field, switches
// from the default (Region Stockholm) to Region Jönköpings län's eID, and
// the relying party's collect shows that HSA-ID.
func TestRealWindowLoginSwitchesEIDByKeyboard(t *testing.T) {
	d := startX(t)
	second := testpki.EIDSpec{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678"}
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{Organization: "Region Stockholm", HSAID: testpki.DefaultHSAID,
		EIDs: []testpki.EIDSpec{second}})
	if c := a.status(t); len(c.EIDs) != 2 || !c.EIDs[0].Default {
		t.Fatalf("the agent sees eIDs %+v", c.EIDs)
	}
	events := subscribe(t, a)
	o, id := a.handOver(t, "Logga in i journalen")
	r := relayPrompts(t, a)
	w := openWindow(t, d, &r.testAgent, "sv_SE.UTF-8", nil, "login", "--handoff", id)
	r.waitPrompt(t, "pin")
	w.key(t, "alt+o")
	w.typeText(t, a.card.PIN)
	w.key(t, "Return")
	waitOperation(t, events, localapi.MethodLogin.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.rp.Collect(ctx, o.OrderRef)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != oob.StatusComplete || c.CompletionData == nil || c.CompletionData.User.HSAID != second.HSAID {
		var user any
		if c.CompletionData != nil {
			user = c.CompletionData.User
		}
		t.Fatalf("collect after Alt+O in the window: %s %+v, want HSA-ID %s\n%s", c.Status, user, second.HSAID, w.stderr)
	}
	w.waitExit(t)
}
