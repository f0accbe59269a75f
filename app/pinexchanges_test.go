package app_test

import (
	"context"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestPINChangeUnblockExchanges (issue 17): a PIN change and an unblock
// on a card the service has seen (as the agent has) take fewer APDUs
// than yubico-piv-tool's change-pin/unblock-pin (5): the first session
// (before the prompt) reads no ID again for the card whose ID was read
// last in the reader, no card inserted or removed since, and only the
// tries its prompt shows (SELECT and the PIN's tries for a change, the
// PUK's for an unblock), and the second session (after the person typed)
// is SELECT and the command only: 4. It was 9 (PIV) and 10 (IDPrime),
// then 5 (the first session read every count). On an IDPrime card with a
// signature PIN the identification PIN's change and unblock are 4 as
// well (6 when every count was read), the signature PIN's change 4 and
// its unblock 5: the signature PIN's tries say, before the PUK is asked,
// that the card has one.
func TestPINChangeUnblockExchanges(t *testing.T) {
	type op struct {
		unblock bool
		pin     cardreader.PINRef
		want    int64
	}
	for _, tc := range []struct {
		name    string
		k       cardkind.Kind
		signing bool
		ops     []op
	}{
		{"piv", cardkind.PIV, false, []op{{false, cardreader.PINIdentification, 4}, {true, cardreader.PINIdentification, 4}}},
		{"idprime", cardkind.IDPrime, false, []op{{false, cardreader.PINIdentification, 4}, {true, cardreader.PINIdentification, 4}}},
		{"idprime two PINs", cardkind.IDPrime, true, []op{
			{false, cardreader.PINIdentification, 4}, {true, cardreader.PINIdentification, 4},
			{false, cardreader.PINSignature, 4}, {true, cardreader.PINSignature, 5},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waitEmpty(t, rig.Require(t).Reader(0))
			// The card's goroutine writes the trace while the test reads it.
			tr := &agenttest.SyncBuffer{}
			card := rig.Require(t).InsertCard(t, 0, tc.k.Provision(vcard.ProvisionOptions{
				Dir: t.TempDir(), Spec: testpki.CardSpec{}, WithSigning: tc.signing,
			}), vcard.RunOptions{Trace: tr})
			svc := agenttest.Service(t, tc.k)
			if _, err := svc.Status(context.Background(), app.StatusOptions{}); err != nil {
				t.Fatal(err)
			}
			current := map[cardreader.PINRef]string{cardreader.PINIdentification: vcard.DefaultPIN, cardreader.PINSignature: vcard.DefaultSignPIN}
			news := []string{"97531864", "24681357", "86420975", "31415926"}
			for i, o := range tc.ops {
				what := "change " + string(o.pin)
				if o.unblock {
					what = "unblock " + string(o.pin)
				}
				answers := map[app.PromptKind]string{app.PromptPIN: current[o.pin], app.PromptPUK: vcard.DefaultPUK, app.PromptNewPIN: news[i]}
				tr.Reset()
				before := card.Server.Stats().APDUs
				var tries []int
				prompt := func(_ context.Context, r app.PromptRequest) (*cardreader.Secret, error) {
					tries = append(tries, r.Retries)
					return cardreader.NewSecret([]byte(answers[r.Kind])), nil
				}
				var err error
				if o.unblock {
					err = svc.UnblockPIN(context.Background(), app.Selector{}, o.pin, prompt)
				} else {
					err = svc.ChangePIN(context.Background(), app.Selector{}, o.pin, prompt)
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				current[o.pin] = news[i]
				// The first prompt shows the tries of what it asks for:
				// the PIN's for a change, the PUK's for an unblock.
				if len(tries) == 0 || tries[0] != 3 {
					t.Errorf("%s: the first prompt showed tries %v, want 3", what, tries)
				}
				n := card.Server.Stats().APDUs - before
				t.Logf("%s: %d APDUs", what, n)
				if n > o.want {
					t.Errorf("%s: %d APDUs, want at most %d:\n%s", what, n, o.want, tr.String())
				}
			}
			if pin, puk := card.State.PINRetries(); pin != 3 || puk != 3 {
				t.Errorf("after the changes and unblocks: PIN %d, PUK %d tries left", pin, puk)
			}
		})
	}
}
