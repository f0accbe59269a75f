package views

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/oob"
)

// Avbryt, or the window's ✕, before the agent's PIN prompt has reached the
// window cancels the order at the service (issue 17): the relying party's
// collect says failed/userCancel, not pending. The agent's approval and
// prompt wait in the test's UI queue until the test drains it, so the tap
// comes before the window knows of any prompt.
func TestRealAgentLoginCancelBeforePrompt(t *testing.T) {
	url, rp := startIDP(t)
	r := startAgent(t, cardkind.PIV, url)
	for _, how := range []string{"Avbryt", "✕"} {
		t.Run(how, func(t *testing.T) {
			o, id := handOver(t, r, rp, "Avbryt innan PIN-frågan")
			h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, r.client, id) })
			v := vv.(*LoginView)
			if v.pinRow.Visible() || v.answer != nil {
				t.Fatal("the PIN prompt is on screen before the test drained the UI queue")
			}
			if how == "Avbryt" {
				test.Tap(v.cancelB)
			} else {
				v.CloseRequested()
			}
			eventually(t, "the window to close", func() bool { return h.closed })
			if c := collect(t, rp, o); c.Status != oob.StatusFailed || c.HintCode != oob.HintUserCancel {
				t.Fatalf("after %s before the PIN prompt the order is %+v, want failed/userCancel", how, c)
			}
		})
	}
}

// Avbryt after a wrong PIN (the order still pending, Försök igen offered)
// cancels the order too, rather than leaving it for its lifetime.
func TestRealAgentLoginCancelAfterWrongPIN(t *testing.T) {
	url, rp := startIDP(t)
	r := startAgent(t, cardkind.PIV, url)
	o, id := handOver(t, r, rp, "Fel PIN, sedan Avbryt")
	h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, r.client, id) })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() && !v.pin.Disabled() })
	test.Type(v.pin, "654321")
	test.Tap(v.loginB)
	eventually(t, "the wrong PIN", func() bool { return v.ops == 1 && v.retryB.Visible() })
	test.Tap(v.cancelB)
	eventually(t, "the window to close", func() bool { return h.closed })
	if c := collect(t, rp, o); c.Status != oob.StatusFailed || c.HintCode != oob.HintUserCancel {
		t.Fatalf("after Avbryt following a wrong PIN the order is %+v, want failed/userCancel", c)
	}
}
