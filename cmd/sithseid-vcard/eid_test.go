package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// init --eid "Organisation:HSA-ID", repeated, gives a card several
// organisations' eIDs: on PIV the extra pair in retired slots 84/85, on
// IDPrime in the next containers; the first --eid is the card's first eID.
func TestInitSeveralEIDs(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		extra []string
		want  map[string]string // slot -> HSA-ID
	}{
		{"piv", nil, map[string]string{"9a": "SE2321000016-1234", "9c": "SE2321000016-1234", "84": "SE2321000057-5678", "85": "SE2321000057-5678"}},
		{"idprime", []string{"--with-signing"}, map[string]string{"kxc00": "SE2321000016-1234", "ksc01": "SE2321000016-1234", "kxc02": "SE2321000057-5678", "ksc03": "SE2321000057-5678"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "card")
			args := append([]string{"init", "--dir", dir, "--kind", tc.kind,
				"--eid", "Region Stockholm:SE2321000016-1234", "--eid", "Region Jönköpings län:SE2321000057-5678"}, tc.extra...)
			if _, _, err := runCLI(t, args...); err != nil {
				t.Fatal(err)
			}
			card, err := vcard.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			orgs := map[string]string{}
			issuers := map[string]string{}
			for _, s := range card.Info().Slots {
				if s.Certificate != nil && strings.HasPrefix(s.Certificate.Subject.SerialNumber, "SE") {
					got[s.Slot] = s.Certificate.Subject.SerialNumber
					orgs[s.Certificate.Subject.SerialNumber] = s.Certificate.Subject.Organization[0]
					issuers[s.Certificate.Subject.SerialNumber] = s.Certificate.Issuer.CommonName
				}
			}
			for slot, hsa := range tc.want {
				if got[slot] != hsa {
					t.Errorf("slot %s holds %q, want %q (all: %v)", slot, got[slot], hsa, got)
				}
			}
			if orgs["SE2321000016-1234"] != "Region Stockholm" || orgs["SE2321000057-5678"] != "Region Jönköpings län" {
				t.Errorf("organisations %v", orgs)
			}
			if issuers["SE2321000016-1234"] != testpki.HSAPersonCAName || issuers["SE2321000057-5678"] != testpki.HSAPersonCA2Name {
				t.Errorf("issuers %v", issuers)
			}
		})
	}
	dir := filepath.Join(t.TempDir(), "card")
	for _, bad := range [][]string{
		{"--eid", "SE2321000057-5678"},
		{"--eid", "Region X:not-an-hsa-id"},
		{"--organization", "Region X", "--eid", "Region Y:SE2321000057-5678"},
	} {
		if _, _, err := runCLI(t, append([]string{"init", "--dir", dir}, bad...)...); exitCode(err) != 2 {
			t.Errorf("init %q: %v, want a usage error", bad, err)
		}
	}
}
