package packaging

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// TestMSIAllowDemoWithEnvDemo: "msiexec /i sithseid.msi ENV=DEMO" is an
// administrator's explicit choice of DEMO, which the installed program
// refuses unless policy's allowDemo is set; so the MSI writes allowDemo
// (REG_DWORD 1 under the policy key) in a component of its own whose
// condition is ENV="DEMO" (issue 14 item 6). Checked in the MSI's tables as
// scripts/packages builds them: wixl on sithseid.wxs (a stand-in exe and
// icon), then msibuild with every query of patch.sql, then msiinfo export
// of the Component and Registry tables.
func TestMSIAllowDemoWithEnvDemo(t *testing.T) {
	cs := wxsComponents(t)
	v := cs["AllowDemo"].Values
	if len(v) != 1 || v[0].Root != "HKLM" || v[0].Key != config.WindowsPolicyKey ||
		v[0].Name != config.KeyAllowDemo || v[0].Type != "integer" || v[0].Value != "1" {
		t.Errorf("AllowDemo component %+v, want HKLM %s %s REG_DWORD 1", v, config.WindowsPolicyKey, config.KeyAllowDemo)
	}

	_, export := patchedMSI(t)

	// Component: Component ComponentId Directory_ Attributes Condition KeyPath
	var cond string
	found := false
	for _, row := range strings.Split(export("Component"), "\n") {
		f := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if len(f) >= 6 && f[0] == "AllowDemo" {
			found, cond = true, f[4]
		}
	}
	if !found || cond != `ENV="DEMO"` {
		t.Errorf("the MSI's Component table: AllowDemo found %v, condition %q; want ENV=\"DEMO\"", found, cond)
	}
	// Registry: Registry Root Key Name Value Component_ (Root 2: HKLM; a
	// DWORD's value is "#1").
	found = false
	for _, row := range strings.Split(export("Registry"), "\n") {
		f := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if len(f) >= 6 && f[3] == config.KeyAllowDemo {
			found = true
			if f[1] != "2" || f[2] != config.WindowsPolicyKey || f[4] != "#1" || f[5] != "AllowDemo" {
				t.Errorf("the MSI's Registry row for allowDemo %q; want HKLM (2) %s #1 in AllowDemo", f, config.WindowsPolicyKey)
			}
		}
	}
	if !found {
		t.Error("the MSI's Registry table has no allowDemo value")
	}
}

// patchedMSI builds the MSI's tables as scripts/packages does: wixl on
// sithseid.wxs (stand-in exes and icon), then msibuild with every query
// of patch.sql. export is "msiinfo export" of one table.
func patchedMSI(t *testing.T) (msi string, export func(table string) string) {
	t.Helper()
	wixl := testenv.LookPath(t, "wixl")
	msibuild := testenv.LookPath(t, "msibuild")
	msiinfo := testenv.LookPath(t, "msiinfo")
	dir := t.TempDir()
	for name, content := range map[string]string{
		"sithseid.exe":    "MZ stand-in",
		"sithseid-ui.exe": "MZ stand-in for the windows",
		"sithseid.ico":    read(t, "../ui/tray/icons/busy.ico"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wxs, err := filepath.Abs("msi/sithseid.wxs")
	if err != nil {
		t.Fatal(err)
	}
	msi = filepath.Join(dir, "sithseid.msi")
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run(wixl, "-a", "x64", "-D", "Version=0.1.0", "-D", "ProductCode=11111111-2222-3333-4444-555555555555",
		"-D", "ExeSource=sithseid.exe", "-D", "UIExeSource=sithseid-ui.exe", "-D", "IconSource=sithseid.ico", "-o", msi, wxs)
	upgrade := strings.ToUpper(regexp.MustCompile(`UpgradeCode="([0-9A-Fa-f-]+)"`).FindStringSubmatch(read(t, "msi/sithseid.wxs"))[1])
	sc := bufio.NewScanner(strings.NewReader(read(t, "msi/patch.sql")))
	for sc.Scan() {
		q := sc.Text()
		if q == "" || strings.HasPrefix(q, "--") {
			continue
		}
		q = strings.NewReplacer("@UPGRADE_CODE@", upgrade, "@VERSION@", "0.1.0").Replace(q)
		run(msibuild, msi, "-q", q)
	}
	return msi, func(table string) string { return run(msiinfo, "export", msi, table) }
}

// TestMSIInstallsBothExecutables: sithseid.exe and sithseid-ui.exe (the
// windows, which "sithseid.exe ui VIEW" and the agent look for beside
// sithseid.exe: internal/uiexe) are installed side by side in INSTALLDIR,
// each the key file of a component of its own (one versioned file per
// component: Windows Installer decides by the key file's version), both in
// the one feature; the Start menu shortcut and the Run entry run
// sithseid.exe.
func TestMSIInstallsBothExecutables(t *testing.T) {
	_, export := patchedMSI(t)
	rows := func(table string) [][]string {
		var out [][]string
		for _, row := range strings.Split(export(table), "\n")[3:] {
			if row = strings.TrimRight(row, "\r"); row != "" {
				out = append(out, strings.Split(row, "\t"))
			}
		}
		return out
	}
	// File: File Component_ FileName FileSize Version Language Attributes Sequence
	fileComp, fileID := map[string]string{}, map[string]string{}
	for _, f := range rows("File") {
		name := f[2]
		if _, long, ok := strings.Cut(name, "|"); ok {
			name = long
		}
		fileComp[name], fileID[name] = f[1], f[0]
	}
	// Component: Component ComponentId Directory_ Attributes Condition KeyPath
	comps := map[string][]string{}
	for _, c := range rows("Component") {
		comps[c[0]] = c
	}
	// FeatureComponents: Feature_ Component_
	inFeature := map[string]bool{}
	for _, fc := range rows("FeatureComponents") {
		inFeature[fc[1]] = true
	}
	for _, name := range []string{"sithseid.exe", "sithseid-ui.exe"} {
		comp, ok := fileComp[name]
		if !ok {
			t.Errorf("the MSI's File table has no %s (files %v)", name, fileComp)
			continue
		}
		c := comps[comp]
		if len(c) < 6 || c[2] != "INSTALLDIR" || c[5] != fileID[name] || c[4] != "" {
			t.Errorf("%s: component %q = %q, want in INSTALLDIR, unconditional, with the file as its key path", name, comp, c)
		}
		if !inFeature[comp] {
			t.Errorf("%s: component %s is in no feature", name, comp)
		}
	}
	if fileComp["sithseid.exe"] == fileComp["sithseid-ui.exe"] {
		t.Errorf("sithseid.exe and sithseid-ui.exe share the component %s", fileComp["sithseid.exe"])
	}
	// Shortcut: Shortcut Directory_ Name Component_ Target Arguments ...
	for _, sc := range rows("Shortcut") {
		// The window program itself: "sithseid.exe ui status" would
		// leave sithseid.exe waiting beside the window (no exec on Windows).
		if sc[4] != "[INSTALLDIR]sithseid-ui.exe" || sc[5] != "status" {
			t.Errorf("shortcut %s runs %q %q, want [INSTALLDIR]sithseid-ui.exe status", sc[0], sc[4], sc[5])
		}
	}
}
