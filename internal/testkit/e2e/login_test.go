package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// testPIN is the virtual card's public test PIN (README).
const testPIN = "123456"

// loginWindow matches the approval window's title in Swedish and English.
// Titles are "View – SITHS eID"; the patterns match anything between, as
// xdotool matches WM_NAME, which Xlib writes in the window process's
// locale: the session's sv_SE.UTF-8, when the machine has no such locale,
// loses the en dash there (_NET_WM_NAME keeps it).
const loginWindow = "^(Inloggning med SITHS-kort|Login with SITHS card) .*SITHS eID$"

// A clinician's same-device login, the whole way, on every kind of card:
// the browser loads the relying party's page, the page's autostart link is
// opened as the OS opens it, the agent shows the approval window, the PIN
// is typed into that real window, and the page shows the card's HSA-ID.
// The agent the URL handler started reached the card through the kind's
// backend, chosen by the session's environment alone.
func TestBrowserLoginSameDevice(t *testing.T) {
	need(t, "xdotool")
	d := startXvfb(t)
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		testBrowserLoginSameDevice(t, d, k)
	})
}

func testBrowserLoginSameDevice(t *testing.T, d *display, k cardkind.Kind) {
	s, b, _, w := openApproval(t, d, k, k.Name+"-approval.png")
	shots := shotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := s.xdotool(ctx, nil, "windowfocus", "--sync", w); err != nil {
		t.Fatalf("windowfocus: %v %s", err, out)
	}
	// The PIN goes in on xdotool's stdin, never on a command line.
	if out, err := s.xdotool(ctx, strings.NewReader(testPIN), "type", "--window", w, "--delay", "40", "--file", "-"); err != nil {
		t.Fatalf("typing the PIN: %v %s", err, out)
	}
	if out, err := s.xdotool(ctx, nil, "key", "--window", w, "Return"); err != nil {
		t.Fatalf("Enter: %v %s", err, out)
	}

	hsaid, name := b.waitLoggedIn(t, 60*time.Second)
	if hsaid != testpki.DefaultHSAID {
		b.screenshot(t, filepath.Join(shots, k.Name+"-page.png"))
		t.Fatalf("the page shows HSA-ID %q, want %q", hsaid, testpki.DefaultHSAID)
	}
	if name == "" {
		t.Error("the page shows no name")
	}
	if st := b.pageStatus(t); st != "complete" {
		t.Errorf("page status %q", st)
	}
	// The window closes itself once the login is done.
	deadline := time.Now().Add(20 * time.Second)
	for !s.windowGone(w) {
		if time.Now().After(deadline) {
			t.Error("the approval window is still open after the login")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := s.agentBackend(); got != k.Backend {
		t.Errorf("the agent reached the %s card through %q, want %q", k.Name, got, k.Backend)
	}
	assertNoPIN(t, s)
}

// The same login finished on the phone: "Använd mobilen i stället" in the
// approval window (by keyboard: Tab from the PIN field, Enter) switches it
// to the animated QR code; the code shown in the real window decodes with
// zbarimg and, scanned by the "phone" (the CLI with the card, looking the
// order up by the scanned payload), completes the order the page shows.
// On the PIV card only: the window's QR code is the subject, and the
// phone's login with the card is the CLI's, which its own tests run on
// every kind.
func TestBrowserLoginQRFromWindow(t *testing.T) {
	need(t, "xdotool")
	s, b, url, w := openApproval(t, startXvfb(t), cardkind.PIV, "approval-before-qr.png")
	shots := shotDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := s.xdotool(ctx, nil, "windowfocus", "--sync", w); err != nil {
		t.Fatalf("windowfocus: %v %s", err, out)
	}
	for _, key := range []string{"Tab", "Return"} {
		if out, err := s.xdotool(ctx, nil, "key", "--window", w, key); err != nil {
			t.Fatalf("%s: %v %s", key, err, out)
		}
	}

	// The window now shows the QR code: decode what is on the screen.
	var payload string
	png := filepath.Join(shots, "qr-window.png")
	for deadline := time.Now().Add(20 * time.Second); payload == ""; time.Sleep(300 * time.Millisecond) {
		s.screenshot(w, png)
		out, err := exec.Command(need(t, "zbarimg"), "--quiet", "--raw", png).Output()
		if err == nil {
			payload = strings.TrimSpace(string(out))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no QR code in the window after 20 s (last shot %s)\nlogs:\n%s", png, s.logTail())
		}
	}
	if !strings.HasPrefix(payload, "sithseid.") || strings.Count(payload, ".") != 3 {
		t.Fatalf("the window's QR code says %q", payload)
	}

	// The phone scans it and logs in with its card.
	phone := exec.CommandContext(ctx, s.bin, "login", payload, "--pin-stdin", "--env", "DEMO", "--service", url)
	phone.Env = append(append([]string{}, s.env...), "SITHSEID_NO_AGENT=1")
	phone.Stdin = strings.NewReader(testPIN + "\n")
	if out, err := phone.CombinedOutput(); err != nil {
		t.Fatalf("the phone's login with the scanned code: %v\n%s", err, out)
	}
	hsaid, _ := b.waitLoggedIn(t, 60*time.Second)
	if hsaid != testpki.DefaultHSAID {
		t.Fatalf("the page shows HSA-ID %q", hsaid)
	}
	// The QR window closes itself on completion.
	deadline := time.Now().Add(20 * time.Second)
	for !s.windowGone(w) {
		if time.Now().After(deadline) {
			s.screenshot(w, filepath.Join(shots, "qr-after.png"))
			t.Error("the QR window is still open after the order completed")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assertNoPIN(t, s)
}

// openApproval is the start both logins share: a session on d with a card
// of kind k, the identity service and a browser on its demo page; the
// page's link opened as the OS would; the approval window that the agent
// opens, waited for and saved as shot. It returns the session, the
// browser, the service's URL and the window.
func openApproval(t *testing.T, d *display, k cardkind.Kind, shot string) (*session, *browser, string, string) {
	t.Helper()
	url := identityService(t)
	rigCard(t, k)
	s := newSession(t, d, url, k)
	b := startBrowser(t)
	s.open(b.demoPage(t, url+"/"))
	w := s.waitWindow(loginWindow, 60*time.Second)
	s.screenshotRendered(w, filepath.Join(shotDir(t), shot))
	return s, b, url, w
}

// assertNoPIN searches the session's logs for the PIN.
func assertNoPIN(t *testing.T, s *session) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.logs, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(data), testPIN) {
			t.Errorf("the PIN is in %s", f)
		}
	}
}

// zbar decodes the QR code in a PNG.
func zbar(t *testing.T, png string) string {
	t.Helper()
	out, err := exec.Command(need(t, "zbarimg"), "--quiet", "--raw", png).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v", png, err)
	}
	return strings.TrimSpace(string(out))
}

// shotDir is where a test saves its screenshots: E2E_SHOTS when set (to
// look at them), else a temporary directory.
func shotDir(t *testing.T) string {
	if d := os.Getenv("E2E_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}
