//go:build unix

package logfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/logfile"
)

// A link planted at the log file's name: the log is not opened through
// it, and its target is neither written nor chmodded.
func TestRotatingFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(victim, 0o644); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(logDir, "sithseid.log")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	w, err := logfile.OpenRotatingFile(link, 0, 0)
	if err == nil {
		w.Write([]byte("line\n"))
		w.Close()
	}
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Errorf("err %v, want ErrSymlink", err)
	}
	if st, err := os.Stat(victim); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the link's target was chmodded: %v %v", st.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "victim" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// A pre-existing world-writable log directory of ours is made 0700
// before the log is opened in it.
func TestRotatingFileTightensDirectory(t *testing.T) {
	logDir := filepath.Join(t.TempDir(), "log")
	if err := os.Mkdir(logDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(logDir, 0o777); err != nil {
		t.Fatal(err)
	}
	w, err := logfile.OpenRotatingFile(filepath.Join(logDir, "sithseid.log"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if st, _ := os.Stat(logDir); st.Mode().Perm() != 0o700 {
		t.Errorf("log directory left %v", st.Mode().Perm())
	}
}
