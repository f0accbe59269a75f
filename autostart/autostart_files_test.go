package autostart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// A link planted at the XDG entry's name: Install fails, the link and
// its target stay as they were (the rename used to replace the link).
func TestAutostartXDGSymlinkRefused(t *testing.T) {
	testenv.GOOS(t, "linux")
	home, getenv := autostartEnv(t)
	dir := filepath.Join(home, ".config", "autostart")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(home, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, XDGAutostartName)
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	_, err := Install(context.Background(), Options{Method: XDG, Executable: "/usr/bin/sithseid", Getenv: getenv})
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "victim" {
		t.Errorf("the link's target was written: %q", b)
	}
}
