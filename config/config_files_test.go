//go:build unix

package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/atomicfile"
)

// A link planted at the user configuration file: SetUser fails, the link
// stays, its target is not written; and the user file's directory, found
// world-writable, is made 0700.
func TestConfigUserFileSymlinkRefused(t *testing.T) {
	c := newConfigDir(t)
	victim := filepath.Join(c.dir, "victim.json")
	if err := os.WriteFile(victim, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(c.opts.UserFile)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, c.opts.UserFile); err != nil {
		t.Fatal(err)
	}
	cfg := c.load(t)
	err := cfg.SetUser(config.KeyEnvironment, "demo")
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	if st, err := os.Lstat(c.opts.UserFile); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "{}\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("user config directory left %v", st.Mode().Perm())
	}
}
