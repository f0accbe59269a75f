package packaging

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// admx is what the test reads of windows/policy/sithseid.admx.
type admx struct {
	Policies []struct {
		Name         string `xml:"name,attr"`
		Key          string `xml:"key,attr"`
		ValueName    string `xml:"valueName,attr"`
		Presentation string `xml:"presentation,attr"`
		EnabledValue *struct {
			Decimal struct {
				Value string `xml:"value,attr"`
			} `xml:"decimal"`
		} `xml:"enabledValue"`
		Elements struct {
			Enum []struct {
				ValueName string `xml:"valueName,attr"`
				Items     []struct {
					Value string `xml:"value>string"`
				} `xml:"item"`
			} `xml:"enum"`
			Text []struct {
				ValueName string `xml:"valueName,attr"`
			} `xml:"text"`
			MultiText []struct {
				ValueName string `xml:"valueName,attr"`
			} `xml:"multiText"`
		} `xml:"elements"`
	} `xml:"policies>policy"`
}

type policyValue struct {
	kind   string // bool (REG_DWORD 0/1), string (REG_SZ), strings (REG_MULTI_SZ)
	values []string
}

// policyKeys maps each configuration key the ADMX sets to its kind.
func policyKeys(t *testing.T) (map[string]policyValue, *admx) {
	t.Helper()
	b, err := os.ReadFile("windows/policy/sithseid.admx")
	if err != nil {
		t.Fatal(err)
	}
	var a admx
	if err := xml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	root := config.WindowsPolicyKey
	out := map[string]policyValue{}
	put := func(name, regKey, valueName string, v policyValue) {
		key := valueName
		switch {
		case regKey == root:
		case strings.HasPrefix(regKey, root+`\Environments\`):
			key = config.EnvironmentKey(strings.TrimPrefix(regKey, root+`\Environments\`), valueName)
		default:
			t.Errorf("policy %s writes to %s, which the app does not read", name, regKey)
			return
		}
		if _, dup := out[key]; dup {
			t.Errorf("two policies set %s", key)
		}
		out[key] = v
	}
	for _, p := range a.Policies {
		if p.ValueName != "" {
			if p.EnabledValue == nil || p.EnabledValue.Decimal.Value != "1" {
				t.Errorf("policy %s: a boolean policy must write REG_DWORD 1 when enabled", p.Name)
			}
			put(p.Name, p.Key, p.ValueName, policyValue{kind: "bool"})
		}
		for _, e := range p.Elements.Enum {
			v := policyValue{kind: "string"}
			for _, it := range e.Items {
				v.values = append(v.values, it.Value)
			}
			put(p.Name, p.Key, e.ValueName, v)
		}
		for _, e := range p.Elements.Text {
			put(p.Name, p.Key, e.ValueName, policyValue{kind: "string"})
		}
		for _, e := range p.Elements.MultiText {
			put(p.Name, p.Key, e.ValueName, policyValue{kind: "strings"})
		}
	}
	return out, &a
}

// kindOf is a key's kind as config parses it.
func kindOf(t *testing.T, key string) string {
	if key == config.KeyUserMayOverride {
		return "strings"
	}
	if v, err := config.ParseValue(key, "true"); err == nil {
		if _, ok := v.(bool); ok {
			return "bool"
		}
	}
	return "string" // strings, and the day lists config reads from REG_SZ "30,14,7"
}

// Every key the app reads from HKLM\Software\Policies\SITHS eID has one
// policy in the ADMX and none more, with the registry type config reads
// and, for a choice, exactly the values config accepts; both ADML files
// name every string and presentation the ADMX uses.
func TestPolicyTemplatesMatchConfig(t *testing.T) {
	got, _ := policyKeys(t)
	want := append(config.Keys(), config.KeyUserMayOverride)
	for _, k := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("no policy for %s", k)
			continue
		}
		if kind := kindOf(t, k); p.kind != kind {
			t.Errorf("%s: policy writes %s, config reads %s", k, p.kind, kind)
		}
		for _, v := range p.values {
			if _, err := config.ParseValue(k, v); err != nil {
				t.Errorf("%s: the policy offers %q, which config refuses: %v", k, v, err)
			}
		}
	}
	for k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("policy for %s, which the app does not read", k)
		}
	}
	for k, all := range map[string][]string{
		config.KeyEnvironment: environment.Names,
		config.KeyBackend:     config.BackendPreferences,
		config.KeyLogLevel:    {"debug", "info", "warn", "error"},
		config.KeyLanguage:    {"sv", "en"},
	} {
		if !slices.Equal(got[k].values, all) {
			t.Errorf("%s: the policy offers %q, config accepts %q", k, got[k].values, all)
		}
		if _, err := config.ParseValue(k, "bogus"); err == nil {
			t.Errorf("%s: config accepts any value, the policy offers a choice", k)
		}
	}

	b, _ := os.ReadFile("windows/policy/sithseid.admx")
	strs := refs(string(b), "$(string.")
	pres := refs(string(b), "$(presentation.")
	for _, lang := range []string{"en-US", "sv-SE"} {
		path := filepath.Join("windows/policy", lang, "sithseid.adml")
		lb, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			Strings []struct {
				ID string `xml:"id,attr"`
			} `xml:"resources>stringTable>string"`
			Presentations []struct {
				ID string `xml:"id,attr"`
			} `xml:"resources>presentationTable>presentation"`
		}
		if err := xml.Unmarshal(lb, &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ids := map[string]bool{}
		for _, s := range l.Strings {
			ids["s:"+s.ID] = true
		}
		for _, p := range l.Presentations {
			ids["p:"+p.ID] = true
		}
		for _, s := range strs {
			if !ids["s:"+s] {
				t.Errorf("%s: no string %s", path, s)
			}
		}
		for _, p := range pres {
			if !ids["p:"+p] {
				t.Errorf("%s: no presentation %s", path, p)
			}
		}
	}
}

// refs lists the ids of "$(prefix…)" references in s.
func refs(s, prefix string) []string {
	var out []string
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			return out
		}
		s = s[i+len(prefix):]
		j := strings.IndexByte(s, ')')
		out = append(out, s[:j])
		s = s[j:]
	}
}

// The templates are well-formed XML as xmllint reads them.
func TestPolicyTemplatesWellFormed(t *testing.T) {
	testenv.LookPath(t, "xmllint")
	files := []string{"windows/policy/sithseid.admx", "windows/policy/en-US/sithseid.adml",
		"windows/policy/sv-SE/sithseid.adml", "macos/io.github.sithseid.desktop.mobileconfig"}
	out, err := exec.Command("xmllint", append([]string{"--noout"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// plistValue decodes the plist element se (dict, array, string, integer,
// true, false) from d.
func plistValue(t *testing.T, d *xml.Decoder, se xml.StartElement) any {
	t.Helper()
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		var key string
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatal(err)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if tok.Name.Local == "key" {
					var s string
					if err := d.DecodeElement(&s, &tok); err != nil {
						t.Fatal(err)
					}
					key = s
					continue
				}
				m[key] = plistValue(t, d, tok)
			case xml.EndElement:
				return m
			}
		}
	case "array":
		var a []any
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatal(err)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				a = append(a, plistValue(t, d, tok))
			case xml.EndElement:
				return a
			}
		}
	case "true", "false":
		if err := d.Skip(); err != nil {
			t.Fatal(err)
		}
		return se.Name.Local == "true"
	}
	var s string
	if err := d.DecodeElement(&s, &se); err != nil {
		t.Fatal(err)
	}
	if se.Name.Local == "integer" {
		return "int:" + s
	}
	return s
}

// The macOS example profile's payload (the managed preferences of the
// app's domain) sets every key the app reads, each with the type config
// reads and a value it accepts, and nothing else.
func TestMobileconfigMatchesConfig(t *testing.T) {
	f, err := os.Open("macos/io.github.sithseid.desktop.mobileconfig")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var root any
	for root == nil {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "dict" {
			root = plistValue(t, d, se)
		}
	}
	content, _ := root.(map[string]any)["PayloadContent"].([]any)
	if len(content) != 1 {
		t.Fatalf("want one payload, got %d", len(content))
	}
	payload := content[0].(map[string]any)
	if payload["PayloadType"] != "io.github.sithseid.desktop" || !strings.HasSuffix(config.MacPolicyFile, "/io.github.sithseid.desktop.plist") {
		t.Errorf("payload type %v, the app reads %s", payload["PayloadType"], config.MacPolicyFile)
	}
	got := map[string]any{}
	for k, v := range payload {
		if strings.HasPrefix(k, "Payload") {
			continue
		}
		if k == "environments" {
			for env, ev := range v.(map[string]any) {
				for ek, evv := range ev.(map[string]any) {
					got[config.EnvironmentKey(env, ek)] = evv
				}
			}
			continue
		}
		got[k] = v
	}
	want := append(config.Keys(), config.KeyUserMayOverride)
	for _, k := range want {
		v, ok := got[k]
		if !ok {
			t.Errorf("the profile does not show %s", k)
			continue
		}
		var text string
		switch v := v.(type) {
		case bool:
			if kindOf(t, k) != "bool" {
				t.Errorf("%s: a boolean in the profile", k)
			}
			text = "false"
			if v {
				text = "true"
			}
		case string:
			if kindOf(t, k) != "string" || k == config.KeyExpiryWarningDays {
				t.Errorf("%s: a string in the profile", k)
			}
			text = v
		case []any:
			var parts []string
			for _, x := range v {
				s := x.(string)
				if k == config.KeyExpiryWarningDays {
					if !strings.HasPrefix(s, "int:") {
						t.Errorf("%s: want integers", k)
					}
				} else if k != config.KeyUserMayOverride || strings.HasPrefix(s, "int:") {
					t.Errorf("%s: an array in the profile", k)
				}
				parts = append(parts, strings.TrimPrefix(s, "int:"))
			}
			text = strings.Join(parts, ",")
		}
		if k == config.KeyUserMayOverride {
			continue
		}
		if _, err := config.ParseValue(k, text); err != nil {
			t.Errorf("%s: config refuses the profile's %q: %v", k, text, err)
		}
	}
	for k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("the profile sets %s, which the app does not read", k)
		}
	}
}
