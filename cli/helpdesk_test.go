package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestHelpdeskWhenPINBlockedNoPUK: policy's helpdesk (issue 17) is named
// by the blocked-PIN message, by "status" and by "status --json" (a
// "helpdesk" object) once the PIN is blocked on a card without a PUK the
// holder can use (the IDPrime card through OpenSC, as the 2024 cards);
// not before.
func TestHelpdeskWhenPINBlockedNoPUK(t *testing.T) {
	k := cardkind.IDPrimePKCS11
	if _, err := os.Stat(k.Module); err != nil {
		testenv.Missing(t, "no PKCS#11 module %s (scripts/setup installs opensc)", k.Module)
	}
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	want := config.Helpdesk{Name: "Servicecenter Test", Phone: "+46 10 123 45 67", URL: "https://www.example.se/sc", Hours: "vardagar 07–17"}
	b, _ := json.Marshal(map[string]string{"helpdeskName": want.Name, "helpdeskPhone": want.Phone, "helpdeskURL": want.URL, "helpdeskHours": want.Hours})
	if err := os.WriteFile(pol, b, 0o644); err != nil {
		t.Fatal(err)
	}
	defer cli.SetPolicyForTest(pol, filepath.Join(dir, "policy.d"))()
	c11 := kindCLI{k}
	k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
	svLine := "Ring Servicecenter Test, +46 10 123 45 67. Öppet vardagar 07–17. Mer hjälp: https://www.example.se/sc"
	enLine := "Call Servicecenter Test, +46 10 123 45 67. Open vardagar 07–17. More help: https://www.example.se/sc"

	helpdeskOf := func(r result) []*config.Helpdesk {
		t.Helper()
		wantCode(t, r, 0)
		var st struct {
			Cards []struct {
				CardNumber string           `json:"cardNumber"`
				Helpdesk   *config.Helpdesk `json:"helpdesk"`
			} `json:"cards"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, r.stdout)
		}
		var out []*config.Helpdesk
		for _, c := range st.Cards {
			if c.CardNumber == "" {
				t.Errorf("the card lost its fields in the JSON: %s", r.stdout)
			}
			out = append(out, c.Helpdesk)
		}
		return out
	}

	// PIN not blocked: no helpdesk anywhere.
	r := c11.sv(t, "", "status")
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "Servicecenter") {
		t.Errorf("status names the helpdesk before the PIN is blocked:\n%s", r.stdout)
	}
	if hs := helpdeskOf(c11.sv(t, "", "status", "--json")); len(hs) != 1 || hs[0] != nil {
		t.Errorf("status --json before the PIN is blocked: %+v", hs)
	}

	// Three wrong PINs: the blocked-PIN message names the helpdesk.
	for range 2 {
		c11.en(t, "000000\n97531864\n", "pin", "change", "--pin-stdin")
	}
	r = c11.en(t, "000000\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINBlocked)
	wantIn(t, r.stderr, enLine)
	r = c11.sv(t, "24681357\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINBlocked)
	wantIn(t, r.stderr, svLine)
	r = c11.sv(t, "12345678\n97531864\n", "pin", "unblock", "--pin-stdin")
	wantCode(t, r, cli.ExitPUKBlocked)
	wantIn(t, r.stderr, svLine)

	r = c11.sv(t, "", "status")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "PIN-koden är låst")
	wantIn(t, r.stdout, svLine)
	r = c11.en(t, "", "status")
	wantIn(t, r.stdout, enLine)
	if hs := helpdeskOf(c11.sv(t, "", "status", "--json")); len(hs) != 1 || hs[0] == nil || *hs[0] != want {
		t.Errorf("status --json of the blocked card: %+v, want %+v", hs, want)
	}
}
