package winelane_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// wine runs a Wine program (msiexec, reg, regedit) in the lane's prefix and
// returns its output and exit status (Wine passes on the low 8 bits:
// msiexec's 1603 is 67).
func (l *lane) wine(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Env = l.env()
	f := outFile(t)
	cmd.Stdout, cmd.Stderr = f, f
	err := cmd.Run()
	out := readOut(t, f)
	if ctx.Err() != nil {
		t.Fatalf("wine %s: no end within 2 minutes", strings.Join(args, " "))
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("wine %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

// regValue reads one registry value with reg query ("" name: the default
// value); ok is false when it is not there.
func (l *lane) regValue(t *testing.T, key, name string) (typ, value string, ok bool) {
	t.Helper()
	args := []string{"reg", "query", key}
	if name == "" {
		args = append(args, "/ve")
	} else {
		args = append(args, "/v", name)
	}
	out, code := l.wine(t, args...)
	if code != 0 {
		return "", "", false
	}
	for _, line := range strings.Split(out, "\n") {
		f := regexp.MustCompile(`^\s+(.*?)\s{4}(REG_\w+)\s{4}(.*?)\s*$`).FindStringSubmatch(line)
		if f != nil && (f[1] == name || (name == "" && strings.HasPrefix(f[1], "("))) {
			return f[2], f[3], true
		}
	}
	return "", "", false
}

// snapshot is what an install may leave behind: every file under drive_c
// and every key and value under HKLM\Software and HKCU\Software, without
// what Wine itself changes as it runs (temporary files, logs, its own
// bookkeeping keys).
func (l *lane) snapshot(t *testing.T) map[string]bool {
	t.Helper()
	s := map[string]bool{}
	root := filepath.Join(l.prefix, "drive_c")
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.Contains(strings.ToLower(rel), "temp") {
			return nil
		}
		s["file "+rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, hive := range []string{`HKEY_LOCAL_MACHINE\Software`, `HKEY_CURRENT_USER\Software`} {
		f := filepath.Join(dir, "export.reg")
		if out, code := l.wine(t, "regedit", "/E", winPath(f), hive); code != 0 {
			t.Fatalf("regedit /E %s: exit %d %s", hive, code, out)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		key := ""
		sc := bufio.NewScanner(strings.NewReader(decodeReg(b)))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			switch {
			case strings.HasPrefix(line, "["):
				key = line
				s["key "+key] = true
			case strings.HasPrefix(line, `"`) || strings.HasPrefix(line, "@="):
				name, _, _ := strings.Cut(line, "=")
				s["value "+key+" "+name] = true
			}
		}
	}
	return s
}

// decodeReg: regedit writes UTF-16LE with a byte order mark.
func decodeReg(b []byte) string {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = uint16(b[2+2*i]) | uint16(b[3+2*i])<<8
		}
		return string(utf16.Decode(u))
	}
	return string(b)
}

// volatile is what changes in a Wine prefix whether or not anything is
// installed (Wine's own bookkeeping), by pattern.
var volatile = regexp.MustCompile(`(?i)` + strings.Join([]string{
	`\\Wine\\`, `\\Microsoft\\Windows NT\\CurrentVersion\\Fonts`, `\\Microsoft\\Cryptography`,
	`\\Microsoft\\Windows\\CurrentVersion\\Explorer`, `\\Wine\]`, `MountedDevices`,
	// Wine fills in the network adapters when a program first asks.
	`\\Windows NT\\CurrentVersion\\NetworkCards\\`,
}, "|"))

// diff compares two snapshots by files and registry values. Keys without
// values are left out: Windows Installer keeps its (empty) bookkeeping keys
// and the C:\windows\Installer folder once it has run, and Wine's msiexec
// deletes a key that an uninstall left empty even when the key was there
// before (the empty Run and Policies keys of a fresh prefix). Our own keys
// are checked by name (ourKeysGone).
func diff(before, after map[string]bool) (added, removed []string) {
	skip := func(k string) bool {
		return volatile.MatchString(k) || strings.HasPrefix(k, "key ") || k == "file windows/Installer"
	}
	for k := range after {
		if !before[k] && !skip(k) {
			added = append(added, k)
		}
	}
	for k := range before {
		if !after[k] && !skip(k) {
			removed = append(removed, k)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// buildMSI builds the MSI as scripts/packages does (wixl on sithseid.wxs,
// then every query of patch.sql with msibuild), from the lane's signed exes,
// as version at build time buildTime: the older and newer builds the
// upgrade checks need.
func (l *lane) buildMSI(t *testing.T, version string, buildTime int64) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(l.dir, "dist", "build", "msi")
	dir := t.TempDir()
	out := filepath.Join(dir, "sithseid-"+version+"-"+strconv.FormatInt(buildTime, 10)+".msi")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = stage
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(buildTime, 10))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
	}
	wxs := filepath.Join(root, "packaging/msi/sithseid.wxs")
	src, err := os.ReadFile(wxs)
	if err != nil {
		t.Fatal(err)
	}
	upgrade := strings.ToUpper(regexp.MustCompile(`UpgradeCode="([0-9A-Fa-f-]+)"`).FindStringSubmatch(string(src))[1])
	// A product code of its own per version and build, like the real ones.
	pc := strings.ToUpper(strings.Join([]string{"5E1D0000", "0000", "4000", "8000", strconv.FormatInt(1e11+buildTime%1e11, 10)[:12]}, "-"))
	run("wixl", "-a", "x64", "-D", "Version="+version, "-D", "ProductCode="+pc,
		"-D", "ExeSource=sithseid.exe", "-D", "UIExeSource=sithseid-ui.exe", "-D", "IconSource=sithseid.ico", "-o", out, wxs)
	patch, err := os.ReadFile(filepath.Join(root, "packaging/msi/patch.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range strings.Split(string(patch), "\n") {
		if q == "" || strings.HasPrefix(q, "--") {
			continue
		}
		run("msibuild", out, "-q", strings.NewReplacer("@UPGRADE_CODE@", upgrade, "@VERSION@", version).Replace(q))
	}
	return out
}

// The MSI under Wine's msiexec: a silent install with ENV=DEMO writes the
// program (sithseid.exe and, beside it, sithseid-ui.exe: the lane's signed
// builds, byte for byte; "sithseid.exe version" runs), the machine-wide Run entry, the sithseid: protocol and the
// policy values (environment, allowDemo); ENV=BOGUS is refused with
// nothing written; an upgrade without ENV= keeps DEMO; an older build of
// the same version and an older version are refused (docs/admin.md,
// "Upgrades"); the uninstall leaves no file and no registry key or value
// behind.
func TestWindowsMSI(t *testing.T) {
	l := newLane(t)
	if l.msi == "" {
		t.Fatal("no MSI in the lane (scripts/wine-lane)")
	}
	const (
		progKey   = `HKLM\Software\Policies\SITHS eID`
		runKey    = `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`
		protoKey  = `HKLM\Software\Classes\sithseid`
		installed = `C:\Program Files\SITHS eID\sithseid.exe`
	)
	exe := filepath.Join(l.prefix, "drive_c/Program Files/SITHS eID/sithseid.exe")
	uiExe := filepath.Join(l.prefix, "drive_c/Program Files/SITHS eID/sithseid-ui.exe")
	now := time.Now().Unix()
	cur := l.buildMSI(t, "0.1.0", now)
	older := l.buildMSI(t, "0.1.0", now-3600)
	newer := l.buildMSI(t, "0.1.0", now+3600)
	next := l.buildMSI(t, "0.2.0", now+7200)

	before := l.snapshot(t)
	msiexec := func(args ...string) int {
		t.Helper()
		log := filepath.Join(t.TempDir(), "msi.log")
		_, code := l.wine(t, append(append([]string{"msiexec"}, args...), "/l*v", winPath(log))...)
		if code != 0 && testing.Verbose() {
			b, _ := os.ReadFile(log)
			t.Logf("msiexec %s: exit %d; log:\n%s", strings.Join(args, " "), code, decodeReg(b))
		}
		return code
	}
	install := func(msi string, props ...string) int {
		t.Helper()
		return msiexec(append([]string{"/i", winPath(msi), "/qn"}, props...)...)
	}
	env := func() string {
		t.Helper()
		_, v, _ := l.regValue(t, progKey, "environment")
		return v
	}

	if code := install(cur, "ENV=BOGUS"); code == 0 {
		t.Error("msiexec /i ENV=BOGUS succeeded")
	}
	if a, r := diff(before, l.snapshot(t)); len(a)+len(r) > 0 {
		t.Errorf("ENV=BOGUS left changes behind: added %q, removed %q", a, r)
	}

	if code := install(cur, "ENV=DEMO"); code != 0 {
		t.Fatalf("msiexec /i ENV=DEMO: exit %d", code)
	}
	// Both exes land in INSTALLDIR as scripts/packages signed them.
	stage := filepath.Join(l.dir, "dist", "build", "msi")
	for _, f := range []struct{ installed, built string }{
		{exe, filepath.Join(stage, "sithseid.exe")},
		{uiExe, filepath.Join(stage, "sithseid-ui.exe")},
	} {
		got, err := os.ReadFile(f.installed)
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		want, err := os.ReadFile(f.built)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s (%d bytes) is not the signed %s (%d bytes)", f.installed, len(got), f.built, len(want))
		}
	}
	// The installed command line still starts (and needs no Fyne).
	if r := l.runExe(t, exe, l.env(), "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "sithseid ") {
		t.Errorf("installed sithseid.exe version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if _, v, _ := l.regValue(t, runKey, "SITHS eID"); v != `"`+installed+`" agent` {
		t.Errorf("HKLM Run 'SITHS eID' = %q", v)
	}
	if _, v, _ := l.regValue(t, protoKey, "URL Protocol"); v != "" {
		t.Errorf("sithseid: protocol's URL Protocol = %q", v)
	}
	if _, v, ok := l.regValue(t, protoKey+`\shell\open\command`, ""); !ok || v != `"`+installed+`" "%1"` {
		t.Errorf("sithseid: protocol command = %q (found %v)", v, ok)
	}
	if v := env(); v != "DEMO" {
		t.Errorf("policy environment = %q, want DEMO", v)
	}
	if typ, v, _ := l.regValue(t, progKey, "allowDemo"); typ != "REG_DWORD" || v != "0x1" {
		t.Errorf("policy allowDemo = %s %q, want REG_DWORD 0x1", typ, v)
	}

	// An older build of the same version: refused, nothing changed.
	if code := install(older); code == 0 {
		t.Error("an older build of the installed version replaced it")
	}
	if _, v, _ := l.regValue(t, `HKLM\Software\SITHS eID\Installer`, "Build 0.1.0"); v != strconv.FormatInt(now, 10) {
		t.Errorf("installed build time %q, want %d (the newer build's)", v, now)
	}
	// A newer build of the same version, then a newer version: upgrades
	// that keep ENV.
	if code := install(newer); code != 0 {
		t.Fatalf("a newer build of the same version: exit %d", code)
	}
	if v := env(); v != "DEMO" {
		t.Errorf("after an upgrade without ENV=, environment = %q, want DEMO", v)
	}
	if code := install(next); code != 0 {
		t.Fatalf("a newer version: exit %d", code)
	}
	if v := env(); v != "DEMO" {
		t.Errorf("after the upgrade to 0.2.0, environment = %q, want DEMO", v)
	}
	// A downgrade: refused.
	if code := install(cur); code == 0 {
		t.Error("0.1.0 replaced the installed 0.2.0 (a downgrade)")
	}
	if _, _, ok := l.regValue(t, `HKLM\Software\SITHS eID\Installer`, "Build 0.2.0"); !ok {
		t.Error("0.2.0 is no longer installed after the refused downgrade")
	}

	if code := msiexec("/x", winPath(next), "/qn"); code != 0 {
		t.Fatalf("msiexec /x: exit %d", code)
	}
	after := l.snapshot(t)
	if a, r := diff(before, after); len(a)+len(r) > 0 {
		t.Errorf("the uninstall left changes behind: added %q, removed %q", a, r)
	}
	for k := range after {
		lk := strings.ToLower(k)
		if before[k] {
			continue // the user's own files (the CLI's log), not the installer's
		}
		if strings.Contains(lk, "siths eid") || strings.Contains(lk, `classes\sithseid]`) || strings.Contains(lk, "sithseid") {
			t.Errorf("the uninstall left %s", k)
		}
	}
}
