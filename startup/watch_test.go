package startup

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// A preferences file written, or replaced as the settings window does,
// reaches the callback as a configuration loaded again; the watch ends
// with its context.
func TestWatchPreferences(t *testing.T) {
	dir := t.TempDir()
	defer SetPolicyForTest(filepath.Join(dir, "no-policy.json"), filepath.Join(dir, "no-policy.d"))()
	getenv := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	if err := WatchPreferences(ctx, getenv, slog.New(slog.DiscardHandler), func(c *config.Config) {
		got <- c.Effective().Language
	}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sithseid", "config.json")
	if err := os.WriteFile(file, []byte(`{"language":"en"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for lang := ""; lang != "en"; {
		lang = wait.Recv(t, got, 10*time.Second, "the written preferences")
	}
	// Replaced through a rename, as atomic writers do.
	tmp := filepath.Join(dir, "sithseid", "config.json.tmp")
	if err := os.WriteFile(tmp, []byte(`{"language":"sv"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	for lang := ""; lang != "sv"; {
		lang = wait.Recv(t, got, 10*time.Second, "the replaced preferences")
	}
}
