//go:build unix

package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/atomicfile"
)

// A link planted at the user configuration file: Load refuses it with a
// *FileError naming the file (ErrSymlink) and, lenient as the roles load,
// ignores it with a warning instead of taking the target's values; SetUser
// fails; the link stays, its target is neither written nor chmodded; and
// the user file's directory, found world-writable, is made 0700.
func TestConfigUserFileSymlinkRefused(t *testing.T) {
	c := newConfigDir(t)
	victim := filepath.Join(c.dir, "victim.json")
	const planted = `{"logLevel": "debug"}` + "\n"
	if err := os.WriteFile(victim, []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(victim, 0o644); err != nil {
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
	_, err := config.Load(c.opts)
	var fe *config.FileError
	if !errors.As(err, &fe) || fe.Path != c.opts.UserFile || !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("Load: %v, want a *FileError for %s with ErrSymlink", err, c.opts.UserFile)
	}
	t.Logf("Load: %v", err)
	lenient := c.opts
	lenient.LenientUser = true
	cfg, err := config.Load(lenient)
	if err != nil {
		t.Fatal(err)
	}
	if v, src, _ := cfg.Value(config.KeyLogLevel); v == "debug" || src == config.SourceUser {
		t.Errorf("the link's target was read: logLevel %v from %v", v, src)
	}
	if w := strings.Join(cfg.Warnings(), "\n"); !strings.Contains(w, "symbolic link") || !strings.Contains(w, c.opts.UserFile) {
		t.Errorf("warnings %q, want the link named", w)
	}
	err = cfg.SetUser(config.KeyEnvironment, "demo")
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	if st, err := os.Lstat(c.opts.UserFile); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != planted {
		t.Errorf("the link's target was written: %q", b)
	}
	if st, _ := os.Stat(victim); st.Mode().Perm() != 0o644 {
		t.Errorf("the link's target was chmodded to %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("user config directory left %v", st.Mode().Perm())
	}
}
