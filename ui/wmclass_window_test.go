//go:build linux

package ui_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/ui"
)

// Every window's WM_CLASS is the application's, the launcher's
// StartupWMClass, whatever the view (issue 17): desktops group the
// windows with the launcher and can pin them. Before, GLFW used each
// window's title ("Status – SITHS eID", "Om – SITHS eID").
func TestRealWindowWMClassIsTheApplications(t *testing.T) {
	d := startX(t)
	need(t, "xprop")
	desktop, err := os.ReadFile("../packaging/linux/sithseid.desktop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(desktop), "\nStartupWMClass="+ui.WindowClass+"\n") {
		t.Fatalf("packaging/linux/sithseid.desktop has no StartupWMClass=%s", ui.WindowClass)
	}
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	want := `WM_CLASS(STRING) = "` + ui.WindowClass + `", "` + ui.WindowClass + `"`
	for _, view := range []string{"status", "about"} {
		w := openWindow(t, d, a, "sv_SE.UTF-8", nil, view)
		cmd := exec.Command("xprop", "-id", w.id, "WM_CLASS")
		cmd.Env = append(os.Environ(), d.env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("xprop: %v", err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("the %s window: %s, want %s", view, got, want)
		}
		w.kill()
	}
}
