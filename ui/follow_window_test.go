//go:build linux

package ui_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// A language saved in Inställningar reaches an open window at once
// (issue 17): the status window, open in Swedish, turns English when the
// user's preferences are saved with English, as the settings window
// saves them; no restart, no new window.
func TestRealWindowFollowsLanguageSetting(t *testing.T) {
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	cfgHome := t.TempDir()
	w := openWindow(t, d, a, "sv_SE.UTF-8", []string{"XDG_CONFIG_HOME=" + cfgHome}, "status")
	if got := d.xdo(t, "getwindowname", w.id); got != "SITHS-kortet – SITHS eID" {
		t.Fatalf("title %q before the change", got)
	}
	cfg, err := config.Load(config.Options{NoSystemPolicy: true, UserFile: filepath.Join(cfgHome, "sithseid", "config.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetUser(config.KeyLanguage, "en"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 15*time.Second, "the window in English", func() bool {
		return d.xdo(t, "getwindowname", w.id) == "The SITHS card – SITHS eID"
	})
}
