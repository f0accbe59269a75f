package app_test

import (
	"bytes"
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
// on a card the service has seen (as the agent has) read the tries once,
// before the prompt, from the session that opened the card, and the
// second session (after the person typed) is SELECT and the command
// only: no second read of the tries. PIV: 4 APDUs to open (SELECT, the
// CHUID, the PIN's and the PUK's tries), 2 to change; IDPrime: 5 to open,
// 2 to change. It was 9 and 10 (the tries read in a session of their own
// and again before the change).
func TestPINChangeUnblockExchanges(t *testing.T) {
	for _, tc := range []struct {
		k               cardkind.Kind
		change, unblock int64
	}{
		{cardkind.PIV, 6, 6},
		{cardkind.IDPrime, 7, 7},
	} {
		t.Run(tc.k.Name, func(t *testing.T) {
			waitEmpty(t, rig.Require(t).Reader(0))
			var tr bytes.Buffer
			card := tc.k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{Trace: &tr})
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
