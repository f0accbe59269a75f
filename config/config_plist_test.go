package config

import (
	"reflect"
	"strings"
	"testing"
)

// A managed-preferences plist decodes to the same configuration as the
// equivalent policy.json.
func TestPlistPolicyMatchesJSON(t *testing.T) {
	const plist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>environment</key>
	<string>test</string>
	<key>allowEnvironmentSwitch</key>
	<false/>
	<key>logLevel</key>
	<string>debug</string>
	<key>expiryWarningDays</key>
	<array><integer>7</integer><integer>30</integer></array>
	<key>userMayOverride</key>
	<array><string>logLevel</string></array>
	<key>environments</key>
	<dict>
		<key>TEST</key>
		<dict>
			<key>serviceURL</key>
			<string>https://idp-test.example.se</string>
		</dict>
	</dict>
</dict>
</plist>`
	const js = `{"environment": "test", "allowEnvironmentSwitch": false, "logLevel": "debug",
		"expiryWarningDays": [7, 30], "userMayOverride": ["logLevel"],
		"environments": {"TEST": {"serviceURL": "https://idp-test.example.se"}}}`
	fromPlist, err := decodePlist([]byte(plist))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := decodeJSONObject([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	a, b := &Config{policy: layer{}, user: layer{}}, &Config{policy: layer{}, user: layer{}}
	if err := a.mergePolicy(fromPlist, "plist"); err != nil {
		t.Fatal(err)
	}
	if err := b.mergePolicy(fromJSON, "json"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.policy, b.policy) || !reflect.DeepEqual(a.mayOverride, b.mayOverride) {
		t.Fatalf("plist %v %v\njson  %v %v", a.policy, a.mayOverride, b.policy, b.mayOverride)
	}
	if a.Effective().Environment != "TEST" || a.Effective().ExpiryWarningDays[0] != 30 || a.Locked(KeyLogLevel) || !a.Locked(KeyEnvironment) {
		t.Fatalf("effective %+v", a.Effective())
	}
}

func TestPlistRefusesBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"binary":      "bplist00\x00\x01",
		"array root":  `<plist><array><string>x</string></array></plist>`,
		"bad integer": `<plist><dict><key>a</key><integer>x</integer></dict></plist>`,
		"missing val": `<plist><dict><key>a</key></dict></plist>`,
		"truncated":   `<plist><dict><key>a</key><string>b</string>`,
		"unknown el":  `<plist><dict><key>a</key><date>2026-01-01T00:00:00Z</date></dict></plist>`,
	} {
		if _, err := decodePlist([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "property list") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
