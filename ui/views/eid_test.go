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

// eidAgent is the fake agent that also removes eIDs.
type eidAgent struct {
	*fakeAgent
	removedEID []string
	confirmEID []bool
}

func (f *eidAgent) RemoveEID(ctx context.Context, _ app.Selector, hsaID string, o app.RemoveOptions, p app.Prompt) ([]string, error) {
	f.record("eid.remove " + hsaID)
	if err := f.ask(ctx, p, app.PromptPIN); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.removedEID, f.confirmEID = append(f.removedEID, hsaID), append(f.confirmEID, o.ConfirmLogin)
	f.mu.Unlock()
	return nil, nil
}

// twoEIDCard is card with a second organisation's eID in 84/85.
func twoEIDCard() app.CardStatus {
	c := card("1001", 3)
	nb, na := c.Certificates[0].NotBefore, c.Certificates[0].NotAfter
	c.Certificates = append(c.Certificates,
		app.CertStatus{ID: "84", Kind: "hsa", Usage: "auth", Subject: "CN=Anna Andersson,SERIALNUMBER=SE2321000057-5678", NotBefore: nb, NotAfter: na},
		app.CertStatus{ID: "85", Kind: "hsa", Usage: "sign", Subject: "CN=Anna Andersson,SERIALNUMBER=SE2321000057-5678", NotBefore: nb, NotAfter: na})
	c.EIDs = []app.EIDStatus{
		{Organisation: "Region Stockholm", OrganisationNumber: "SE2321000016", HSAID: "SE2321000016-1234", Default: true,
			AuthCertID: "9a", SignCertID: "9c", CertIDs: []string{"9a", "9c"}, LoA: 3, NotAfter: &na},
		{Organisation: "Region Jönköpings län", OrganisationNumber: "SE2321000057", HSAID: "SE2321000057-5678",
			AuthCertID: "84", SignCertID: "85", CertIDs: []string{"84", "85"}, LoA: 3, NotAfter: &na},
	}
	return c
}

// The certificates window groups a two-eID card's certificates by eID,
// each line naming its organisation; "Ta bort eID…" on a certificate of
// the second eID asks with a text naming Region Jönköpings län and its
// HSA-ID, and removes that eID with the PIN typed there. The default eID
// needs the extra check, and its text says what that means.
func TestCertsRemoveEIDNamesOrganisation(t *testing.T) {
	f := &eidAgent{fakeAgent: newFake(twoEIDCard())}
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewCerts(env, f) })
	v := vv.(*CertsView)
	eventually(t, "the certificates", func() bool { return len(v.certs) == 5 })
	var order []string
	for _, c := range v.certs {
		order = append(order, c.ID)
	}
	if strings.Join(order, ",") != "9a,9c,84,85,82" {
		t.Fatalf("certificates in order %v, want eID by eID, then the rest", order)
	}
	if line := v.certLine(v.certs[2]); !strings.Contains(line, "Region Jönköpings län (SE2321000057-5678)") {
		t.Fatalf("line of 84: %q", line)
	}
	if !v.removeEID.Visible() {
		t.Fatal("no Ta bort eID on a two-eID card")
	}
	v.list.Select(2)
	drainUI()
	test.Tap(v.removeEID)
	wantText(t, v.confirmText, "Ta bort SITHS eID från Region Jönköpings län (HSA-id SE2321000057-5678) från kortet: certifikat 84, 85.")
	wantText(t, v.confirmText, "en annan organisations eID får inte tas bort")
	if strings.Contains(v.ConfirmText(), "förvalda") {
		t.Fatalf("the second eID called the default: %q", v.ConfirmText())
	}
	typeInto(v.pin, "123456")
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the removal", func() bool { return v.ops == 1 })
	if len(f.removedEID) != 1 || f.removedEID[0] != "SE2321000057-5678" || !f.confirmEID[0] {
		t.Fatalf("removed %v confirm %v; calls %v", f.removedEID, f.confirmEID, f.Calls())
	}

	// The default eID: the text says so, and the extra check is needed.
	eventually(t, "the list again", func() bool { return v.list.Visible() && len(v.certs) == 5 })
	v.list.Select(0)
	drainUI()
	test.Tap(v.removeEID)
	wantText(t, v.confirmText, "Region Stockholm (HSA-id SE2321000016-1234)")
	wantText(t, v.confirmText, "Det är kortets förvalda eID: inloggningar använder SE2321000057-5678 efteråt.")
	typeInto(v.pin, "123456")
	if !v.confirmB.Disabled() {
		t.Fatal("removing the default eID enabled without the extra check")
	}
	test.Tap(v.loginCheck)
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the second removal", func() bool { return v.ops == 2 })
	if len(f.removedEID) != 2 || f.removedEID[1] != "SE2321000016-1234" || !f.confirmEID[1] {
		t.Fatalf("removed %v confirm %v", f.removedEID, f.confirmEID)
	}
}

// The status window lists both eIDs of a two-eID card and its expiry
// warning names the organisation; a one-eID card shows neither.
func TestStatusShowsEveryEID(t *testing.T) {
	c := twoEIDCard()
	c.Warnings = []app.Warning{{Code: app.WarnCertificateExpiring, CertID: "84", Days: 9, Organisation: "Region Jönköpings län", HSAID: "SE2321000057-5678"}}
	f := newFake(c)
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the card", func() bool { return v.details.Visible() })
	if !v.eidRow[0].Visible() {
		t.Fatal("no eID row on a two-eID card")
	}
	wantText(t, v.eids, "Region Stockholm, SE2321000016-1234, giltig till")
	wantText(t, v.eids, "(förvald)")
	wantText(t, v.eids, "Region Jönköpings län, SE2321000057-5678")
	wantText(t, v.warnings, "SITHS eID från Region Jönköpings län (SE2321000057-5678) går ut om 9 dagar")

	one := card("1001", 3)
	one.Warnings = []app.Warning{{Code: app.WarnCertificateExpiring, CertID: "9a", Days: 9, Organisation: "Region Stockholm", HSAID: "SE2321000016-1234"}}
	f1 := newFake(one)
	_, vv1 := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, f1) })
	v1 := vv1.(*StatusView)
	eventually(t, "the card", func() bool { return v1.details.Visible() })
	if v1.eidRow[0].Visible() || strings.Contains(v1.warnings.Text, "Region Stockholm") {
		t.Fatalf("one-eID card: eID row %v, warning %q", v1.eidRow[0].Visible(), v1.warnings.Text)
	}
}
