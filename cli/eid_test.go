package cli_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/config"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/nginxtest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// Two organisations' SITHS eIDs on one card (issue 15): Region Stockholm's
// and, for an assignment, Region Jönköpings län's.
var (
	eidStockholm = testpki.EIDSpec{Organization: "Region Stockholm", HSAID: "SE2321000016-1234"}
	eidJonkoping = testpki.EIDSpec{Organization: "Region Jönköpings län", HSAID: "SE2321000057-5678"}
)

func twoEIDSpec() testpki.CardSpec {
	return testpki.CardSpec{Organization: eidStockholm.Organization, HSAID: eidStockholm.HSAID,
		EIDs: []testpki.EIDSpec{eidJonkoping}}
}

// status --json lists both eIDs of a two-eID card with their organisations,
// organisation numbers and certificates, the first the default, through
// every kind of card; holder.hsaId stays the default eID's.
func TestStatusListsEveryEID(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		k.Insert(t, 0, twoEIDSpec(), vcard.RunOptions{})
		c := onlyCard(t, kindCLI{k}.status(t))
		if c.Holder.HSAID != eidStockholm.HSAID {
			t.Errorf("holder.hsaId = %q, want the default eID's %q", c.Holder.HSAID, eidStockholm.HSAID)
		}
		if len(c.EIDs) != 2 {
			t.Fatalf("%d eIDs, want 2: %+v", len(c.EIDs), c.EIDs)
		}
		for i, want := range []struct {
			spec  testpki.EIDSpec
			orgNr string
			def   bool
		}{{eidStockholm, "SE2321000016", true}, {eidJonkoping, "SE2321000057", false}} {
			e := c.EIDs[i]
			if e.Organisation != want.spec.Organization || e.OrganisationNumber != want.orgNr || e.HSAID != want.spec.HSAID || e.Default != want.def {
				t.Errorf("eID %d = %+v, want %+v (%s, default %v)", i, e, want.spec, want.orgNr, want.def)
			}
			if e.AuthCertID == "" || len(e.CertIDs) == 0 || e.LoA != 3 || e.Expired {
				t.Errorf("eID %d: auth %q, certs %v, LoA %d, expired %v", i, e.AuthCertID, e.CertIDs, e.LoA, e.Expired)
			}
			for _, id := range e.CertIDs {
				found := false
				for _, cs := range c.Certificates {
					if cs.ID == id {
						found = true
						if cs.Kind != "hsa" {
							t.Errorf("eID %d: certificate %s is %q", i, id, cs.Kind)
						}
					}
				}
				if !found {
					t.Errorf("eID %d names certificate %q, not in certificates[]", i, id)
				}
			}
		}
	})
}

// A login with --hsa-id of the second eID completes as that eID: the
// relying party's collect shows its HSA-ID (the identity service reads it
// from the certificate the card authenticated with); without --hsa-id the
// default eID logs in, and an HSA-ID not on the card is refused before any
// PIN is asked.
func TestLoginWithHSAID(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		k.Insert(t, 0, twoEIDSpec(), vcard.RunOptions{})
		s := startIDP(t)
		for _, tc := range []struct {
			flags []string
			want  testpki.EIDSpec
		}{
			{[]string{"--hsa-id", eidJonkoping.HSAID}, eidJonkoping},
			{nil, eidStockholm},
		} {
			o := s.order(t, "Logga in i journalen")
			r := s.login(t, "123456\n", oob.AutoStartURL(o.AutoStartToken, ""), append(tc.flags, k.Args()...)...)
			wantCode(t, r, 0)
			wantIn(t, r.stdout, "som "+tc.want.HSAID)
			c := s.collect(t, o)
			if c.Status != oob.StatusComplete || c.CompletionData == nil || c.CompletionData.User.HSAID != tc.want.HSAID {
				t.Fatalf("%v: collect %+v", tc.flags, c)
			}
		}
		o := s.order(t, "Logga in i journalen")
		r := s.login(t, "", oob.AutoStartURL(o.AutoStartToken, ""), append([]string{"--hsa-id", "SE2321000099-0000"}, k.Args()...)...)
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "Kortet har ingen giltig SITHS eID med det HSA-id:t.")
	})
}

// runWithHome runs the CLI as sv does, with HOME at home (the user's
// preferences, eids.json among them).
func runWithHome(t *testing.T, home string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"LANG": "sv_SE.UTF-8", "SITHSEID_NO_AGENT": "1", "HOME": home}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := cli.Run(ctx, cli.Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Version: "test"})
	return result{out.String(), errb.String(), code}
}

// The default eID: policy's defaultOrganisation names Region Jönköpings
// län, so its eID is the default (status and holder.hsaId); the user's
// remembered choice for this card (eids.json) wins over policy.
func TestDefaultEIDPolicyAndUserChoice(t *testing.T) {
	insert(t, 0, twoEIDSpec())
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(`{"defaultOrganisation": "SE2321000057"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	defer cli.SetPolicyForTest(pol, filepath.Join(dir, "policy.d"))()
	home := t.TempDir()
	defaultOf := func() (string, string) {
		t.Helper()
		r := runWithHome(t, home, "status", "--json")
		wantCode(t, r, 0)
		var st app.Status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatal(err)
		}
		c := onlyCard(t, st)
		def := ""
		for _, e := range c.EIDs {
			if e.Default {
				if def != "" {
					t.Fatalf("two default eIDs: %+v", c.EIDs)
				}
				def = e.HSAID
			}
		}
		return def, c.Holder.HSAID
	}
	if def, holder := defaultOf(); def != eidJonkoping.HSAID || holder != eidJonkoping.HSAID {
		t.Fatalf("with policy's organisation: default %q, holder %q; want %q", def, holder, eidJonkoping.HSAID)
	}
	cardNumber := onlyCard(t, status(t)).CardNumber
	prefs := config.NewEIDPreferences(filepath.Join(home, ".config", "sithseid", "eids.json"))
	if err := prefs.SetDefaultEID(cardNumber, eidStockholm.HSAID); err != nil {
		t.Fatal(err)
	}
	if def, holder := defaultOf(); def != eidStockholm.HSAID || holder != eidStockholm.HSAID {
		t.Fatalf("with the user's choice: default %q, holder %q; want %q", def, holder, eidStockholm.HSAID)
	}
}

// Mutual TLS with a two-eID card: against nginx that accepts only the
// second organisation's CA, tls-check picks the second eID without being
// told; where both are accepted, the default is used, or the one named
// with --hsa-id. The server's own view (nginx's $ssl_client_s_dn in the
// body) names the eID that authenticated.
func TestTLSCheckPicksEID(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			testenv.Missing(t, "nginx not installed (scripts/setup installs it)")
		}
	}
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	onlySecond := nginxtest.PKIOptions(t, pki)
	onlySecond.ClientCAs = []*x509.Certificate{pki.Root.Cert, pki.HSAPersonCA2.Cert}
	ngxSecond := nginxtest.Start(t, onlySecond)
	both := nginxtest.PKIOptions(t, pki)
	both.ClientCAs = []*x509.Certificate{pki.Root.Cert, pki.HSAPersonCA.Cert, pki.HSAPersonCA2.Cert}
	ngxBoth := nginxtest.Start(t, both)
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		k.Insert(t, 0, twoEIDSpec(), vcard.RunOptions{})
		for _, tc := range []struct {
			name  string
			url   string
			flags []string
			want  testpki.EIDSpec
		}{
			{"only the second organisation's CA", ngxSecond.URL, nil, eidJonkoping},
			{"both CAs, the default", ngxBoth.URL, nil, eidStockholm},
			{"both CAs, --hsa-id", ngxBoth.URL, []string{"--hsa-id", eidJonkoping.HSAID}, eidJonkoping},
		} {
			args := append([]string{"tls-check", tc.url, "--env", "DEMO", "--pin-stdin", "--json"}, tc.flags...)
			r := kindCLI{k}.en(t, "123456\n", args...)
			wantCode(t, r, 0)
			var rep app.TLSCheckReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, err, r.stdout)
			}
			if rep.Status != 200 || rep.HSAID != tc.want.HSAID || rep.Organisation != tc.want.Organization {
				t.Errorf("%s: status %d, eID %q of %q; want %q of %q", tc.name, rep.Status, rep.HSAID, rep.Organisation, tc.want.HSAID, tc.want.Organization)
			}
			if !strings.Contains(rep.Body, tc.want.HSAID) {
				t.Errorf("%s: the server saw %q", tc.name, rep.Body)
			}
		}
	})
}

// Removing one organisation's eID (cert remove --eid): the confirmation
// names the organisation and HSA-ID and stops without --yes; with --yes
// the second eID's certificates go and the first eID stays whole, as
// OpenSC's pkcs15-tool (another client, reading the card through the same
// pcscd) sees it: its certificates and keys. Removing the remaining eID
// then says it is the default and the only LoA3 eID. Backends that cannot
// remove certificates keep refusing, and the card keeps both eIDs.
func TestRemoveEID(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		k.Insert(t, 0, twoEIDSpec(), vcard.RunOptions{})
		c11 := kindCLI{k}
		before := onlyCard(t, c11.status(t))
		r := c11.sv(t, "", "cert", "remove", "--eid", eidJonkoping.HSAID, "--pin-stdin")
		wantCode(t, r, cli.ExitConfirm)
		wantIn(t, r.stderr, "Ta bort SITHS eID från Region Jönköpings län (HSA-id SE2321000057-5678)")
		wantIn(t, r.stderr, "en annan organisations eID får inte tas bort")
		wantIn(t, r.stderr, "--yes")
		if strings.Contains(r.stderr, "förvalda") {
			t.Errorf("the second eID is called the default:\n%s", r.stderr)
		}
		r = c11.en(t, "", "cert", "remove", "--eid", eidJonkoping.HSAID, "--pin-stdin")
		wantCode(t, r, cli.ExitConfirm)
		wantIn(t, r.stderr, "Remove the SITHS eID of Region Jönköpings län (HSA-ID SE2321000057-5678)")
		if c := onlyCard(t, c11.status(t)); len(c.EIDs) != 2 {
			t.Fatalf("unconfirmed, the card lost an eID: %+v", c.EIDs)
		}
		r = c11.sv(t, "", "cert", "remove", "--eid", "SE2321000099-0000", "--yes", "--pin-stdin")
		wantCode(t, r, cli.ExitUsage)
		wantIn(t, r.stderr, "Kortet har ingen giltig SITHS eID med det HSA-id:t.")

		r = c11.sv(t, "123456\n", "cert", "remove", "--eid", eidJonkoping.HSAID, "--yes", "--pin-stdin")
		if !k.Remove {
			wantCode(t, r, cli.ExitFailure)
			wantIn(t, r.stderr, "Thales SAC")
			if c := onlyCard(t, c11.status(t)); len(c.EIDs) != 2 || len(c.Certificates) != len(before.Certificates) {
				t.Fatalf("after the refused removal: %+v", c.EIDs)
			}
			return
		}
		wantCode(t, r, 0)
		after := onlyCard(t, c11.status(t))
		if len(after.EIDs) != 1 || after.EIDs[0].HSAID != eidStockholm.HSAID || !after.EIDs[0].Default ||
			strings.Join(after.EIDs[0].CertIDs, ",") != strings.Join(before.EIDs[0].CertIDs, ",") {
			t.Fatalf("after removing the second eID: %+v (before %+v)", after.EIDs, before.EIDs)
		}
		if len(after.Certificates) != len(before.Certificates)-len(before.EIDs[1].CertIDs) {
			t.Fatalf("%d certificates left of %d", len(after.Certificates), len(before.Certificates))
		}

		// Another client: pkcs15-tool sees the first eID's certificates
		// and keys, and nothing of the second's.
		if _, err := exec.LookPath("pkcs15-tool"); err != nil {
			testenv.Missing(t, "pkcs15-tool (OpenSC) not installed")
		}
		p15 := func(args ...string) string {
			t.Helper()
			cmd := exec.Command("pkcs15-tool", append([]string{"--reader", "0"}, args...)...)
			cmd.Env = append(rig.Require(t).Env(), "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pkcs15-tool %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		certs := p15("--list-certificates")
		ids := regexp.MustCompile(`(?m)^\s*ID\s*:\s*([0-9a-fA-F]+)\s*$`).FindAllStringSubmatch(certs, -1)
		serials := map[string]int{}
		for _, m := range ids {
			out := p15("--read-certificate", m[1])
			blk, _ := pem.Decode([]byte(out[strings.Index(out, "-----BEGIN"):]))
			if blk == nil {
				t.Fatalf("certificate %s: no PEM:\n%s", m[1], out)
			}
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			serials[cert.Subject.SerialNumber]++
		}
		if serials[eidStockholm.HSAID] != len(before.EIDs[0].CertIDs) || serials[eidJonkoping.HSAID] != 0 {
			t.Fatalf("pkcs15-tool reads certificates of %v, want %d of %s and none of %s", serials,
				len(before.EIDs[0].CertIDs), eidStockholm.HSAID, eidJonkoping.HSAID)
		}
		keys := p15("--list-keys")
		keyIDs := regexp.MustCompile(`(?m)^\s*ID\s*:\s*([0-9a-fA-F]+)\s*$`).FindAllStringSubmatch(keys, -1)
		if len(keyIDs) != len(ids) {
			t.Fatalf("pkcs15-tool lists %d keys for %d certificates:\n%s", len(keyIDs), len(ids), keys)
		}
		for i := range ids {
			if keyIDs[i][1] != ids[i][1] {
				t.Errorf("key %s, certificate %s", keyIDs[i][1], ids[i][1])
			}
		}

		// The eID left is the default and the only LoA3 one: said first.
		r = c11.sv(t, "", "cert", "remove", "--eid", eidStockholm.HSAID, "--pin-stdin")
		wantCode(t, r, cli.ExitConfirm)
		wantIn(t, r.stderr, "Region Stockholm (HSA-id SE2321000016-1234)")
		wantIn(t, r.stderr, "Det är kortets förvalda eID, och ingen annan eID kan logga in efteråt.")
		wantIn(t, r.stderr, "enda giltiga eID med tillitsnivå 3")
	})
}

// The status and certs text of a two-eID card: every eID with its
// organisation, HSA-ID and end date, the default marked; certs groups the
// certificates under each eID. An expiring eID's warning names the
// organisation (a card whose second eID expires soon).
func TestStatusTextShowsEveryEID(t *testing.T) {
	spec := twoEIDSpec()
	spec.EIDs[0].Variant = testpki.Expiring
	insert(t, 0, spec)
	r := sv(t, "", "status")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "SITHS eID:")
	wantIn(t, r.stdout, "Region Stockholm, SE2321000016-1234, giltig till ")
	wantIn(t, r.stdout, "(förvald)")
	wantIn(t, r.stdout, "Region Jönköpings län, SE2321000057-5678, giltig till ")
	wantIn(t, r.stdout, "(SITHS eID från Region Jönköpings län, SE2321000057-5678) går ut om")
	r = en(t, "", "status")
	wantIn(t, r.stdout, "(the SITHS eID of Region Jönköpings län, SE2321000057-5678) expires in")
	r = sv(t, "", "certs")
	wantCode(t, r, 0)
	i, j := strings.Index(r.stdout, "SITHS eID: Region Stockholm"), strings.Index(r.stdout, "SITHS eID: Region Jönköpings län")
	k := strings.Index(r.stdout, "Övriga certifikat:")
	if i < 0 || j < i || k < j {
		t.Fatalf("certs not grouped by eID:\n%s", r.stdout)
	}
}
