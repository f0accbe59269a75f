package packaging

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
)

var update = flag.Bool("update", false, "rewrite the files generated from the app (linux/sithseid-agent.*, macos/*.agent.plist)")

// Where the packages install the binary, and the windows' executable
// (cmd/sithseid-ui): beside it, or in <dir of sithseid>/../libexec/sithseid
// (the DEB), where "sithseid ui VIEW" and the agent look for it.
const (
	debExe   = "/usr/bin/sithseid"
	debUIExe = "/usr/libexec/sithseid/sithseid-ui"
	macOSExe = "/Applications/SITHS eID.app/Contents/MacOS/sithseid"
	// msiExe is the MSI's formatted path of the installed exe.
	msiExe = "[INSTALLDIR]sithseid.exe"
)

// generated compares a shipped file with what the app writes for a
// per-user autostart, so that the machine-wide entry and a user's own
// ("sithseid service install") are the same file under the same name: the
// user's copy then overrides the machine's (XDG autostart, systemd user
// units and launchd all go by name).
func generated(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the app writes (go test ./packaging -update):\n--- shipped\n%s\n--- app\n%s", path, got, want)
	}
}

func TestAutostartFilesMatchTheApp(t *testing.T) {
	generated(t, filepath.Join("linux", autostart.SystemdUnitName), autostart.SystemdUnit(debExe))
	generated(t, filepath.Join("linux", autostart.XDGAutostartName), autostart.XDGDesktopEntry(debExe))
	generated(t, filepath.Join("macos", autostart.LaunchAgentLabel+".plist"), autostart.LaunchAgentPlist(macOSExe))

	// The nfpm configuration installs them under the names the app uses.
	nfpm := read(t, "deb/nfpm.yaml")
	for _, dst := range []string{
		"/usr/lib/systemd/user/" + autostart.SystemdUnitName,
		"/etc/xdg/autostart/" + autostart.XDGAutostartName,
		debExe,
		debUIExe,
	} {
		if !strings.Contains(nfpm, "dst: "+dst+"\n") {
			t.Errorf("deb/nfpm.yaml does not install %s", dst)
		}
	}
	if filepath.Join(filepath.Dir(debExe), "..", "libexec", "sithseid", "sithseid-ui") != debUIExe {
		t.Errorf("%s is not <dir of %s>/../libexec/sithseid/sithseid-ui", debUIExe, debExe)
	}
	if !strings.Contains(read(t, "macos/build.sh"), `"$app/Contents/MacOS/sithseid-ui"`) {
		t.Error("macos/build.sh does not put sithseid-ui in Contents/MacOS beside sithseid")
	}
	if !strings.Contains(read(t, "macos/build.sh"), `"$here/`+autostart.LaunchAgentLabel+`.plist"`) {
		t.Errorf("macos/build.sh does not install %s.plist", autostart.LaunchAgentLabel)
	}
}

type wxsRegistryValue struct {
	Root  string `xml:"Root,attr"`
	Key   string `xml:"Key,attr"`
	Name  string `xml:"Name,attr"`
	Type  string `xml:"Type,attr"`
	Value string `xml:"Value,attr"`
}

type wxsComponent struct {
	ID     string             `xml:"Id,attr"`
	Guid   string             `xml:"Guid,attr"`
	Values []wxsRegistryValue `xml:"RegistryValue"`
}

func wxsComponents(t *testing.T) map[string]wxsComponent {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(read(t, "msi/sithseid.wxs")))
	out := map[string]wxsComponent{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Component" {
			var c wxsComponent
			if err := dec.DecodeElement(&c, &se); err != nil {
				t.Fatal(err)
			}
			out[c.ID] = c
		}
	}
	if len(out) == 0 {
		t.Fatal("msi/sithseid.wxs: no components")
	}
	return out
}

// TestMSIRegistryMatchesTheApp: the Run value has the name and command the
// app's per-user autostart uses (a user's HKCU entry and the machine's HKLM
// one are the same program), and ENV lands where app/config_windows.go
// reads the environment.
func TestMSIRegistryMatchesTheApp(t *testing.T) {
	cs := wxsComponents(t)
	run := cs["Autostart"].Values
	if len(run) != 1 || run[0].Root != "HKLM" ||
		`HKLM\`+run[0].Key != strings.Replace(autostart.RunKeyPath, `HKCU\`, `HKLM\`, 1) ||
		run[0].Name != autostart.RunKeyValue || run[0].Value != autostart.RunKeyCommand(msiExe) {
		t.Errorf("Run entry %+v, want HKLM %s value %q = %q", run, autostart.RunKeyPath, autostart.RunKeyValue, autostart.RunKeyCommand(msiExe))
	}
	env := cs["Environment"].Values
	if len(env) != 1 || env[0].Root != "HKLM" || env[0].Key != config.WindowsPolicyKey ||
		env[0].Name != config.KeyEnvironment || env[0].Type != "string" || env[0].Value != "[ENV]" {
		t.Errorf("environment value %+v, want HKLM %s %s REG_SZ [ENV]", env, config.WindowsPolicyKey, config.KeyEnvironment)
	}
	// An install without ENV= keeps the environment the policy key has:
	// the search reads the value the component writes.
	var search struct {
		Root  string `xml:"Root,attr"`
		Key   string `xml:"Key,attr"`
		Name  string `xml:"Name,attr"`
		Win64 string `xml:"Win64,attr"`
	}
	rs := regexp.MustCompile(`<RegistrySearch Id="EnvPrevious"[^>]*/>`).FindString(read(t, "msi/sithseid.wxs"))
	if err := xml.Unmarshal([]byte(rs), &search); err != nil {
		t.Fatalf("RegistrySearch EnvPrevious: %v (%q)", err, rs)
	}
	if search.Root != "HKLM" || search.Key != config.WindowsPolicyKey || search.Name != config.KeyEnvironment || search.Win64 != "yes" {
		t.Errorf("RegistrySearch EnvPrevious %+v, want HKLM %s %s (64-bit view)", search, config.WindowsPolicyKey, config.KeyEnvironment)
	}
	// The GUIDs are what upgrades and uninstalls go by: fixed, distinct.
	seen := map[string]bool{}
	for id, c := range cs {
		if !regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`).MatchString(c.Guid) || seen[c.Guid] {
			t.Errorf("component %s: GUID %q must be a fixed, unique, upper-case GUID", id, c.Guid)
		}
		seen[c.Guid] = true
	}
	// Every property the command line may set is made secure after the
	// build (wixl ignores Secure="yes").
	patch := read(t, "msi/patch.sql")
	m := regexp.MustCompile(`(?m)^UPDATE Property SET Value='([^']*)' WHERE Property='SecureCustomProperties'$`).FindStringSubmatch(patch)
	if m == nil {
		t.Fatal("msi/patch.sql does not set SecureCustomProperties")
	}
	for _, p := range []string{"ENV", "ENV_PREVIOUS", "AUTOSTART", "WIX_UPGRADE_DETECTED"} {
		if !slices.Contains(strings.Split(m[1], ";"), p) {
			t.Errorf("SecureCustomProperties %q lacks %s", m[1], p)
		}
	}
	// The environments ENV accepts are the product's.
	for _, name := range []string{environment.PROD, "QA", "TEST", "DEMO"} {
		if !strings.Contains(patch, `ENV="`+name+`"`) {
			t.Errorf("msi/patch.sql: the launch condition does not accept ENV=%s", name)
		}
	}
}

// TestPolicyExampleLoads: the example IT copies to /etc/sithseid/policy.json
// loads without a warning, and the README next to it names every key.
func TestPolicyExampleLoads(t *testing.T) {
	dir := t.TempDir()
	c, err := config.Load(config.Options{
		PolicyFile: "policy/policy.json.example",
		PolicyDir:  filepath.Join(dir, "none"),
		UserFile:   filepath.Join(dir, "config.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %q", w)
	}
	if !c.Locked(config.KeyEnvironment) || c.Source(config.KeyEnvironment) != config.SourcePolicy {
		t.Errorf("environment: source %s, locked %v; want policy, locked", c.Source(config.KeyEnvironment), c.Locked(config.KeyEnvironment))
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(read(t, "policy/policy.json.example")), &raw); err != nil {
		t.Fatal(err)
	}
	readme := read(t, "policy/README")
	for _, k := range append(config.Keys(), config.KeyUserMayOverride) {
		if strings.HasPrefix(k, "environments.") {
			k = "environments.NAME." + k[strings.LastIndex(k, ".")+1:]
		}
		if !strings.Contains(readme, k) {
			t.Errorf("policy/README does not describe %s", k)
		}
	}
}

// TestDesktopEntries: the URL handler takes the link as its one argument
// (main.go hands a lone sithseid: argument to the agent), and the menu
// launcher opens the status window.
func TestDesktopEntries(t *testing.T) {
	handler := desktopKeys(t, "linux/sithseid-handler.desktop")
	if handler["Exec"] != "sithseid %u" || !slices.Contains(strings.Split(handler["MimeType"], ";"), "x-scheme-handler/sithseid") || handler["NoDisplay"] != "true" {
		t.Errorf("handler: Exec %q MimeType %q NoDisplay %q", handler["Exec"], handler["MimeType"], handler["NoDisplay"])
	}
	launcher := desktopKeys(t, "linux/sithseid.desktop")
	if launcher["Exec"] != "sithseid ui status" || launcher["Name"] != "SITHS eID" || launcher["Icon"] != "sithseid" || launcher["NoDisplay"] != "" {
		t.Errorf("launcher: %v", launcher)
	}
	if !strings.Contains(read(t, "macos/url-types.plist"), "<string>sithseid</string>") {
		t.Error("macos/url-types.plist: no sithseid URL scheme")
	}
}

func desktopKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(read(t, path), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFyneAppID: one ID everywhere on macOS: the bundle (FyneApp.toml and
// build.sh), the LaunchAgent label, the managed preferences; and a version
// scripts/packages can use (Windows Installer takes three numbers).
func TestFyneAppID(t *testing.T) {
	toml := read(t, "../FyneApp.toml")
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*"([^"]*)"`).FindStringSubmatch(toml)
		if m == nil {
			t.Fatalf("FyneApp.toml: no %s", name)
		}
		return m[1]
	}
	id := field("ID")
	if autostart.LaunchAgentLabel != id+".agent" {
		t.Errorf("LaunchAgent label %s, want %s.agent", autostart.LaunchAgentLabel, id)
	}
	if config.MacPolicyFile != "/Library/Managed Preferences/"+id+".plist" {
		t.Errorf("managed preferences %s do not use the ID %s", config.MacPolicyFile, id)
	}
	if !strings.Contains(read(t, "macos/build.sh"), "-app-id "+id) {
		t.Errorf("macos/build.sh does not package with -app-id %s", id)
	}
	if v := field("Version"); !regexp.MustCompile(`^\d{1,3}\.\d{1,3}\.\d{1,5}$`).MatchString(v) {
		t.Errorf("FyneApp.toml Version %q: want MAJOR.MINOR.PATCH (the MSI's ProductVersion)", v)
	}
	if field("Name") != "SITHS eID" || field("Icon") != "assets/icons/sithseid.png" {
		t.Errorf("FyneApp.toml Name %q Icon %q", field("Name"), field("Icon"))
	}
}

// The project is Apache-2.0: the LICENSE at the root, and every package
// says so in the place its ecosystem reads (the DEB's copyright file in
// Debian's machine-readable format and nfpm's license field, the MSI's
// summary comments, the exe's version resource).
func TestLicence(t *testing.T) {
	licence, err := os.ReadFile("../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(licence, []byte("Apache License")) || !bytes.Contains(licence, []byte("Version 2.0, January 2004")) {
		t.Error("LICENSE is not the Apache License 2.0")
	}
	for _, c := range []struct{ file, want string }{
		{"deb/copyright", "\nLicense: Apache-2.0\n"},
		{"deb/copyright", "/usr/share/common-licenses/Apache-2.0"},
		{"deb/nfpm.yaml", "\nlicense: Apache-2.0\n"},
		{"msi/sithseid.wxs", `Comments="Apache-2.0 licensed`},
		{"windows/sithseid.rc", "Licensed under the Apache License 2.0"},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s does not say %q", c.file, c.want)
		}
		if strings.Contains(string(b), "all-rights-reserved") {
			t.Errorf("%s still says all-rights-reserved", c.file)
		}
	}
}
