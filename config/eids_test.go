package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEIDPreferences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sithseid", "eids.json")
	p := NewEIDPreferences(path)
	if got := p.DefaultEID("123"); got != "" {
		t.Fatalf("DefaultEID before any choice = %q", got)
	}
	if err := p.SetDefaultEID("123", "SE2321000057-5678"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetDefaultEID("456", "SE2321000016-1234"); err != nil {
		t.Fatal(err)
	}
	q := NewEIDPreferences(path) // another process reads what this one wrote
	if got := q.DefaultEID("123"); got != "SE2321000057-5678" {
		t.Errorf("card 123: %q", got)
	}
	if got := q.DefaultEID("456"); got != "SE2321000016-1234" {
		t.Errorf("card 456: %q", got)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("eids.json: %v, mode %v", err, st.Mode())
	}
	var nilPrefs *EIDPreferences
	if nilPrefs.DefaultEID("123") != "" || nilPrefs.SetDefaultEID("1", "x") == nil {
		t.Error("nil preferences remember something")
	}
}

func TestDefaultOrganisationKey(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{{"SE2321000016", true}, {"", true}, {"2321000016", false}, {"SE232100001", false}, {"SE2321000016-1", false}} {
		_, err := ParseValue(KeyDefaultOrganisation, tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.v, err)
		}
	}
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(`{"defaultOrganisation": "SE2321000057"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Options{PolicyFile: pol, PolicyDir: filepath.Join(dir, "policy.d"), UserFile: filepath.Join(dir, "user.json")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Effective().DefaultOrganisation; got != "SE2321000057" {
		t.Errorf("DefaultOrganisation = %q", got)
	}
	if !c.Locked(KeyDefaultOrganisation) {
		t.Error("policy's defaultOrganisation is not locked")
	}
}
