package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testpki"
)

// testPIN is the virtual card's public test PIN (README).
const testPIN = "123456"

// loginWindow matches the approval window's title in Swedish and English.
const loginWindow = "(Logga in|Log in).*SITHS eID|SITHS eID.*(Logga in|Log in|inloggning|login)"

// A clinician's same-device login, the whole way: the browser loads the
// relying party's page, the page's autostart link is opened as the OS
// opens it, the agent shows the approval window, the PIN is typed into
// that real window, and the page shows the card's HSA-ID.
func TestBrowserLoginSameDevice(t *testing.T) {
	need(t, "xdotool")
	d := startXvfb(t)
	url := identityService(t)
	card := rigCard(t)
	_ = card
	s := newSession(t, d, url)
	b := startBrowser(t)

	link := b.demoPage(t, url+"/")
	s.open(link)

	w := s.waitWindow(loginWindow, 60*time.Second)
	shots := t.TempDir()
	s.screenshot(w, filepath.Join(shots, "approval.png"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := s.xdotool(ctx, nil, "windowactivate", "--sync", w); err != nil {
		t.Logf("windowactivate: %v %s (no window manager: focus by click)", err, out)
	}
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
		b.screenshot(t, filepath.Join(shots, "page.png"))
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
	assertNoPIN(t, s)
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
