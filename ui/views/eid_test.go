package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
)

// A card with two organisations' eIDs: the approval offers both, the
// default preselected; Alt+O (one keystroke, with the focus in the PIN
// entry) switches to the other, and the login gets the eID selected when
// the PIN is given. A card with one eID shows no picker.
func TestLoginPicksEIDByKeyboard(t *testing.T) {
	until := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	eids := []app.EIDChoice{
		{Organisation: "Region Stockholm", OrganisationNumber: "SE2321000016", HSAID: "SE2321000016-1234", NotAfter: until, Default: true},
		{Organisation: "Region Jönköpings län", OrganisationNumber: "SE2321000057", HSAID: "SE2321000057-5678", NotAfter: until},
	}
	for _, tc := range []struct {
		name    string
		eids    []app.EIDChoice
		presses int
		want    string
	}{
		{"default kept", eids, 0, ""},
		{"Alt+O once", eids, 1, "SE2321000057-5678"},
		{"Alt+O twice wraps", eids, 2, "SE2321000016-1234"},
		{"one eID", nil, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			chosen := make(chan string, 1)
			f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
				var pick string
				a := app.LoginApproval{RelyingParty: "Journalsystemet", Holder: "Anna Andersson",
					HSAID: "SE2321000016-1234", CardNumber: "1001", EIDs: tc.eids}.WithChooser(func(h string) { pick = h })
				if err := req.Approve(ctx, a); err != nil {
					return nil, err
				}
				s, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
				if err != nil {
					return nil, err
				}
				s.Wipe()
				chosen <- pick
				return &app.LoginResult{RelyingParty: "Journalsystemet", HSAID: pick}, nil
			}
			h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, f, "h1") })
			v := vv.(*LoginView)
			eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
			if v.eidRow.Visible() != (tc.eids != nil) {
				t.Fatalf("eID picker shown %v with %d eIDs", v.eidRow.Visible(), len(tc.eids))
			}
			if tc.eids != nil {
				if !strings.Contains(v.eidPick.Selected, "Region Stockholm") {
					t.Fatalf("preselected %q, want the default (Region Stockholm)", v.eidPick.Selected)
				}
				wantText(t, v.eidHint, "Alt+O")
			}
			if h.w.Canvas().Focused() != v.pin {
				t.Fatal("the PIN field has no focus")
			}
			sc, ok := h.w.Canvas().(interface{ TypedShortcut(fyne.Shortcut) })
			if !ok {
				t.Fatal("the test canvas takes no shortcuts")
			}
			for range tc.presses {
				sc.TypedShortcut(EIDShortcut)
			}
			drainUI()
			if tc.presses == 1 && tc.eids != nil {
				if !strings.Contains(v.eidPick.Selected, "Region Jönköpings län") || !strings.Contains(v.who.Text, "SE2321000057-5678") {
					t.Fatalf("after Alt+O: selected %q, %q", v.eidPick.Selected, v.who.Text)
				}
			}
			test.Type(v.pin, "123456")
			key(v.pin, fyne.KeyReturn)
			select {
			case got := <-chosen:
				if got != tc.want {
					t.Fatalf("the login got eID %q, want %q", got, tc.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no login within 20 s")
			}
			eventually(t, "the result", func() bool { return v.ops == 1 })
		})
	}
}
