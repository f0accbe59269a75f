package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpdeskKeys: the helpdesk keys are policy only and validated
// (issue 17): an https URL, a phone number of digits, spaces and a leading
// "+", display text without control or invisible characters, bounded.
func TestHelpdeskKeys(t *testing.T) {
	for _, tc := range []struct {
		key, v string
		ok     bool
	}{
		{KeyHelpdeskName, "Servicecenter Region Exempel", true},
		{KeyHelpdeskName, "", true},
		{KeyHelpdeskName, "Service\u202Ecenter", false},
		{KeyHelpdeskName, "Service\ncenter", false},
		{KeyHelpdeskName, " Servicecenter", false},
		{KeyHelpdeskName, strings.Repeat("x", maxHelpdeskName+1), false},
		{KeyHelpdeskPhone, "+46 10 123 45 67", true},
		{KeyHelpdeskPhone, "010-123 45 67", false},
		{KeyHelpdeskPhone, "+46 10 123 45 67 ext 3", false},
		{KeyHelpdeskPhone, "1+2", false},
		{KeyHelpdeskPhone, "12", false},
		{KeyHelpdeskPhone, strings.Repeat("1", maxHelpdeskPhone+1), false},
		{KeyHelpdeskURL, "https://www.example.se/servicecenter", true},
		{KeyHelpdeskURL, "http://www.example.se/servicecenter", false},
		{KeyHelpdeskURL, "https://user@www.example.se/", false},
		{KeyHelpdeskURL, "javascript:alert(1)", false},
		{KeyHelpdeskURL, "https://" + strings.Repeat("a", maxHelpdeskURL) + ".se/", false},
		{KeyHelpdeskHours, "Vardagar 07–17, helger 09–15", true},
		{KeyHelpdeskHours, "07\u200B–17", false},
	} {
		_, err := ParseValue(tc.key, tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: %v", tc.key, tc.v, err)
		}
	}

	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(`{"helpdeskName": "Servicecenter", "helpdeskPhone": "+46 10 123 45 67",
		"helpdeskURL": "https://www.example.se/sc", "helpdeskHours": "Vardagar 07–17"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	user := filepath.Join(dir, "user.json")
	c, err := Load(Options{PolicyFile: pol, PolicyDir: filepath.Join(dir, "policy.d"), UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	want := Helpdesk{Name: "Servicecenter", Phone: "+46 10 123 45 67", URL: "https://www.example.se/sc", Hours: "Vardagar 07–17"}
	if got := c.Effective().Helpdesk; got != want {
		t.Errorf("Helpdesk = %+v, want %+v", got, want)
	}
	for _, k := range []string{KeyHelpdeskName, KeyHelpdeskPhone, KeyHelpdeskURL, KeyHelpdeskHours} {
		var locked *LockedError
		if err := c.SetUser(k, "x"); !errors.As(err, &locked) {
			t.Errorf("the user set %s: %v", k, err)
		}
	}
	// Not even without a policy: the user cannot name a helpdesk.
	c, err = Load(Options{NoSystemPolicy: true, UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	var locked *LockedError
	if err := c.SetUser(KeyHelpdeskPhone, "112"); !errors.As(err, &locked) || locked.Reason != LockedPolicyOnly {
		t.Errorf("SetUser(helpdeskPhone) without policy: %v", err)
	}
	if !c.Effective().Helpdesk.IsZero() {
		t.Error("a helpdesk without policy")
	}
	// A bad value refuses the policy file.
	if err := os.WriteFile(pol, []byte(`{"helpdeskURL": "http://x.example/"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{PolicyFile: pol, PolicyDir: filepath.Join(dir, "policy.d"), UserFile: user}); err == nil {
		t.Error("a policy with an http helpdeskURL was loaded")
	}
}
