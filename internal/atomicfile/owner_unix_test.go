//go:build unix

package atomicfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// nobody is the uid and gid another user's files get here.
const nobody = 65534

// othersFile makes dir/name holding "theirs" with mode 0644, owned by
// nobody: a log file or a key another user put in the app's place.
func othersFile(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return p
}

// leftAlone fails t unless p still holds "theirs", mode 0644, owner nobody.
func leftAlone(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "theirs" {
		t.Errorf("%s was written: %q %v", p, b, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("%s was chmodded to %v", p, st.Mode().Perm())
	}
}

// A log file or a key file that another user owns is refused
// (ErrUnsafeDir), neither appended to nor read nor tightened: root gives
// it to nobody, as a second user on the machine would have made it.
func TestFileNotOurs(t *testing.T) {
	testenv.Root(t, "to give a file to another user")
	dir := t.TempDir()
	logf := othersFile(t, dir, "app.log")
	f, err := atomicfile.OpenAppend(logf)
	if err == nil {
		_, _ = f.WriteString("ours")
		f.Close()
	}
	if !errors.Is(err, atomicfile.ErrUnsafeDir) {
		t.Errorf("OpenAppend of another user's file: %v, want ErrUnsafeDir", err)
	}
	leftAlone(t, logf)

	key := othersFile(t, dir, "device-key.pem")
	if b, _, err := atomicfile.ReadPrivate(key); !errors.Is(err, atomicfile.ErrUnsafeDir) {
		t.Errorf("ReadPrivate of another user's file: %q %v, want ErrUnsafeDir", b, err)
	}
	leftAlone(t, key)
}

// A file of the app's own in a directory another user owns is not
// written: the directory is refused and left as it was.
func TestWriteFileInDirNotOurs(t *testing.T) {
	testenv.Root(t, "to give a directory to another user")
	dir := filepath.Join(t.TempDir(), "nobodys")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.json")
	if err := atomicfile.WriteFile(p, []byte("{}")); !errors.Is(err, atomicfile.ErrUnsafeDir) {
		t.Fatalf("WriteFile into another user's directory: %v, want ErrUnsafeDir", err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was written: %v", p, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the directory: %v", ents)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("the directory was changed: %v %v", st.Mode().Perm(), err)
	}
}
