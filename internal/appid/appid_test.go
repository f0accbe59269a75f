package appid_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/sithseid/sithseid/internal/appid"
)

// The AppUserModelID is the application's ID of FyneApp.toml (Fyne's app
// ID, ui.AppID, the macOS bundle ID): one identity everywhere.
func TestAppUserModelIDIsTheAppID(t *testing.T) {
	b, err := os.ReadFile("../../FyneApp.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*ID = "([^"]+)"`).FindSubmatch(b)
	if m == nil || string(m[1]) != appid.AppUserModelID {
		t.Fatalf("FyneApp.toml's ID %q, want %q", m, appid.AppUserModelID)
	}
	if len(appid.AppUserModelID) > 128 || regexp.MustCompile(`\s`).MatchString(appid.AppUserModelID) {
		t.Errorf("%q: an AppUserModelID has at most 128 characters and no spaces", appid.AppUserModelID)
	}
}
