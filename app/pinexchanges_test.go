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
// on a card the service has seen (as the agent has) take no more APDUs
// than yubico-piv-tool's change-pin/unblock-pin (5): the first session
// (before the prompt) reads no ID again for the card whose ID was read
// last in the reader, no card inserted or removed since (PIV: SELECT and
// the PIN's and PUK's tries; IDPrime: SELECT and the tries), the tries
// the prompt shows come from it, and the second session (after the person
// typed) is SELECT and the command only. It was 9 (PIV) and 10 (IDPrime).
func TestPINChangeUnblockExchanges(t *testing.T) {
	for _, tc := range []struct {
		k               cardkind.Kind
		change, unblock int64
	}{
		{cardkind.PIV, 5, 5},
		{cardkind.IDPrime, 5, 5},
	} {
		t.Run(tc.k.Name, func(t *testing.T) {
			waitEmpty(t, rig.Require(t).Reader(0))
			// The card's goroutine writes the trace while the test reads it.
			tr := &agenttest.SyncBuffer{}
			card := tc.k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{Trace: tr})
			svc := agenttest.Service(t, tc.k)
			if _, err := svc.Status(context.Background(), app.StatusOptions{}); err != nil {
				t.Fatal(err)
			}
			cur, next := vcard.DefaultPIN, "97531864"
			run := func(what string, want int64, op func(app.Prompt) error, answers map[app.PromptKind]string) {
				t.Helper()
				tr.Reset()
				before := card.Server.Stats().APDUs
				var tries []int
				err := op(func(_ context.Context, r app.PromptRequest) (*cardreader.Secret, error) {
					tries = append(tries, r.Retries)
					return cardreader.NewSecret([]byte(answers[r.Kind])), nil
				})
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if len(tries) == 0 || tries[0] != 3 {
					t.Errorf("%s: the first prompt showed tries %v, want 3", what, tries)
				}
				if n := card.Server.Stats().APDUs - before; n > want {
					t.Errorf("%s: %d APDUs, want at most %d:\n%s", what, n, want, tr.String())
				}
			}
			run("change", tc.change, func(p app.Prompt) error {
				return svc.ChangePIN(context.Background(), app.Selector{}, cardreader.PINIdentification, p)
			}, map[app.PromptKind]string{app.PromptPIN: cur, app.PromptNewPIN: next})
			run("unblock", tc.unblock, func(p app.Prompt) error {
				return svc.UnblockPIN(context.Background(), app.Selector{}, cardreader.PINIdentification, p)
			}, map[app.PromptKind]string{app.PromptPUK: vcard.DefaultPUK, app.PromptNewPIN: "24681357"})
			if pin, puk := card.State.PINRetries(); pin != 3 || puk != 3 {
				t.Errorf("after change and unblock: PIN %d, PUK %d tries left", pin, puk)
			}
		})
	}
}
