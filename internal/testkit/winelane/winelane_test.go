package winelane_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

// lane is what scripts/wine-lane prepared: a Wine prefix with the lane's
// bcryptprimitives.dll and winscard bridge, the cross-built exe and MSI.
type lane struct {
	dir    string // SITHSEID_WINELANE_DIR
	prefix string // its WINEPREFIX
	exe    string // the unsigned cross-built sithseid.exe (a Unix path)
	uiExe  string // the windows' sithseid-ui.exe beside it, which "sithseid ui" and the agent run
	msi    string // the signed MSI
	// display is the X display every Wine process of the lane gets
	// (newLaneOn); none for tests without windows.
	display []string
}

func newLane(t *testing.T) *lane {
	t.Helper()
	return newLaneOn(t)
}

// newLaneOn is newLane for a test that shows windows: every Wine process
// of the lane, from the first on, runs on display (desktoptest's Xvfb).
// Wine's desktop (explorer.exe /desktop) takes the display of the process
// that starts it, once: a desktop started by a process without DISPLAY
// (msiexec, reg) has no display driver, and a window process started later
// fails to create any window (GLFW: "Failed to create helper window", a
// panic, exit 2). So an earlier test's Wine processes are ended first.
func newLaneOn(t *testing.T, display ...string) *lane {
	t.Helper()
	dir := testenv.OptIn(t, "SITHSEID_WINELANE_DIR", "make check-windows (scripts/wine-lane) runs the Windows lane")
	testenv.LookPath(t, "wine")
	l := &lane{dir: dir, prefix: filepath.Join(dir, "prefix"), exe: filepath.Join(dir, "sithseid.exe"), uiExe: filepath.Join(dir, "sithseid-ui.exe"), display: display}
	msis, _ := filepath.Glob(filepath.Join(dir, "sithseid-*-x64.msi"))
	if len(msis) == 1 {
		l.msi = msis[0]
	}
	for _, f := range []string{l.exe, l.uiExe, filepath.Join(l.prefix, "drive_c/windows/system32/bcryptprimitives.dll")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the lane is not prepared (scripts/wine-lane): %v", err)
		}
	}
	// A persistent wineserver of the prefix, started with no pipes of
	// ours: one that a Wine command starts inherits that command's output
	// pipe and holds it open for seconds after (scripts/wine-lane ends it).
	if len(display) > 0 {
		for _, a := range []string{"-k", "-w"} {
			k := exec.Command("wineserver", a)
			k.Env = l.env()
			_ = k.Run()
		}
	}
	srv := exec.Command("wineserver", "-p")
	srv.Env = l.env()
	if err := srv.Run(); err != nil {
		t.Logf("wineserver -p: %v (one runs already)", err)
	}
	return l
}

// result is one Wine run.
type result struct {
	stdout, stderr string
	code           int
}

// env is the environment of a Windows process in the lane: the test's
// pcscd (PCSCLITE_CSOCK_NAME, read by the bridge's libpcsclite), the
// bridge chosen over Wine's stub winscard, English messages.
func (l *lane) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WINE") && !strings.HasPrefix(kv, "SITHSEID_") && !strings.HasPrefix(kv, rig.EnvSocket+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, "WINEPREFIX="+l.prefix, "WINEDEBUG=-all",
		"WINEDLLOVERRIDES=winscard=n;mscoree,mshtml=;winemenubuilder.exe=d", "SITHSEID_LANG=en")
	if p := rig.Current(); p != nil {
		env = append(env, rig.EnvSocket+"="+p.Socket())
	}
	env = append(env, l.display...)
	return append(env, extra...)
}

// run runs the exe under Wine with args; stdin (PINs, never arguments)
// goes to its standard input.
func (l *lane) run(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	return l.runExe(t, l.exe, env, stdin, args...)
}

// runExe is run with another exe (the installed one).
func (l *lane) runExe(t *testing.T, exe string, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", append([]string{exe}, args...)...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	// Files, not pipes: a Wine process may leave a helper (wineserver,
	// services, msiexec's server) holding its output open after it ends.
	out, errf := outFile(t), outFile(t)
	cmd.Stdout, cmd.Stderr = out, errf
	err := cmd.Run()
	r := result{stdout: readOut(t, out), stderr: readOut(t, errf)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("wine %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wine %s: no end within 2 minutes", strings.Join(args, " "))
	}
	return r
}

func outFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readOut(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// winPath is a Unix path as the Windows process sees it (Wine's Z: drive).
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// The cross-built exe reads the virtual card through Wine and the bridge,
// without an agent: status, the certificates, the PIN's whole life (change,
// wrong PINs to blocked, unblock with the PUK) with the documented exit
// codes, and a reader that does not exist.
func TestWindowsCLIOnVirtualCard(t *testing.T) {
	l := newLane(t)
	p := rig.Require(t)
	card := p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime}, vcard.RunOptions{})
	env := l.env("SITHSEID_NO_AGENT=1")

	r := l.run(t, env, "", "status", "--json")
	if r.code != exitcode.OK {
		t.Fatalf("status --json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, r.stdout)
	}
	if !strings.Contains(r.stdout, card.Reader) || !strings.Contains(r.stdout, testpki.DefaultHSAID) {
		t.Errorf("status --json names neither the reader %q nor the HSA-ID %s:\n%s", card.Reader, testpki.DefaultHSAID, r.stdout)
	}

	out := t.TempDir()
	if r := l.run(t, env, "", "certs", "--export", winPath(out)); r.code != exitcode.OK {
		t.Fatalf("certs --export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*"))
	if len(files) == 0 {
		t.Fatal("certs --export wrote nothing")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s is not PEM", f)
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}

	const newPIN = "246810"
	if r := l.run(t, env, vcard.DefaultPIN+"\n"+newPIN+"\n", "pin", "change", "--pin-stdin"); r.code != exitcode.OK {
		t.Fatalf("pin change: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// The old PIN no longer works; wrong PINs until the card blocks it.
	code := exitcode.WrongPIN
	for i := 0; i < 10 && code == exitcode.WrongPIN; i++ {
		r := l.run(t, env, vcard.DefaultPIN+"\n"+"135790\n", "pin", "change", "--pin-stdin")
		code = r.code
		if code != exitcode.WrongPIN && code != exitcode.PINBlocked {
			t.Fatalf("pin change with the old PIN: exit %d, want %d or %d\n%s%s", code, exitcode.WrongPIN, exitcode.PINBlocked, r.stdout, r.stderr)
		}
	}
	if code != exitcode.PINBlocked {
		t.Fatalf("the PIN is not blocked after the wrong PINs: exit %d", code)
	}
	const unblockedPIN = "112233"
	if r := l.run(t, env, vcard.DefaultPUK+"\n"+unblockedPIN+"\n", "pin", "unblock", "--pin-stdin"); r.code != exitcode.OK {
		t.Fatalf("pin unblock: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := l.run(t, env, unblockedPIN+"\n"+"192837\n", "pin", "change", "--pin-stdin"); r.code != exitcode.OK {
		t.Fatalf("pin change with the PIN set by unblock: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A broken exe or bridge is seen: a reader that does not exist gets
	// the documented exit code ("not the card asked for", docs/admin.md),
	// and so does a process without the smart card service.
	r = l.run(t, env, "", "status", "--reader", "No Such Reader 00 00")
	if r.code != exitcode.NoCard {
		t.Errorf("status --reader 'No Such Reader 00 00': exit %d, want %d (not the card asked for)\n%s%s", r.code, exitcode.NoCard, r.stdout, r.stderr)
	}
	r = l.run(t, append(env, "WINELANE_SCARD_DISABLE=1"), "", "status")
	if r.code != exitcode.NoReader {
		t.Errorf("status without the smart card service: exit %d, want %d\n%s%s", r.code, exitcode.NoReader, r.stdout, r.stderr)
	}
}
