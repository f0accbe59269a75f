//go:build unix

package atomicfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/atomicfile"
)

// plant makes dir/victim (content "victim", mode 0644) and a link at
// dir/name pointing to it, as another user sharing the directory would.
func plant(t *testing.T, dir, name string) (link, victim string) {
	t.Helper()
	victim = filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(victim, 0o644); err != nil {
		t.Fatal(err)
	}
	link = filepath.Join(dir, name)
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	return link, victim
}

// untouched fails the test unless link is still a link and victim still
// holds "victim" with mode 0644.
func untouched(t *testing.T, link, victim string) {
	t.Helper()
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v %v", st, err)
	}
	b, err := os.ReadFile(victim)
	if err != nil || string(b) != "victim" {
		t.Errorf("the link's target was written: %q %v", b, err)
	}
	if st, err := os.Stat(victim); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("the link's target was chmodded: %v %v", st.Mode().Perm(), err)
	}
}

func TestWriteRefusesSymlink(t *testing.T) {
	for name, write := range map[string]func(string, []byte) error{
		"WriteFile":   atomicfile.WriteFile,
		"WriteOutput": atomicfile.WriteOutput,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			link, victim := plant(t, dir, "out")
			err := write(link, []byte("ours"))
			if !errors.Is(err, atomicfile.ErrSymlink) {
				t.Fatalf("err %v, want ErrSymlink", err)
			}
			untouched(t, link, victim)
			if ents, _ := os.ReadDir(dir); len(ents) != 2 {
				t.Errorf("temporary file left: %v", ents)
			}
		})
	}
}

func TestWriteOutputLeavesDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "qr.png")
	if err := atomicfile.WriteOutput(p, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o755 {
		t.Errorf("a directory the user named was changed: %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}

func TestPrivateDirTightens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "f"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("world-writable directory of ours left %v", st.Mode().Perm())
	}
	fresh := filepath.Join(t.TempDir(), "a", "b")
	if err := atomicfile.PrivateDir(fresh); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o700 {
		t.Errorf("new directory %v", st.Mode().Perm())
	}
}

// A directory not ours is refused, not used and not changed: root's /
// seen by a non-root test; run as root (CI), a directory given to nobody
// (uid 65534).
func TestPrivateDirNotOurs(t *testing.T) {
	dir := "/"
	if os.Getuid() == 0 {
		dir = filepath.Join(t.TempDir(), "nobodys")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := atomicfile.PrivateDir(dir); !errors.Is(err, atomicfile.ErrUnsafeDir) {
		t.Fatalf("err %v, want ErrUnsafeDir", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 && dir != "/" {
		t.Fatalf("%s changed: %v %v", dir, fi.Mode(), err)
	}
}

func TestOpenAppendRefusesSymlink(t *testing.T) {
	link, victim := plant(t, t.TempDir(), "app.log")
	f, err := atomicfile.OpenAppend(link)
	if err == nil {
		f.Close()
	}
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	untouched(t, link, victim)
}

func TestReadPrivate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(p, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	b, loosened, err := atomicfile.ReadPrivate(p)
	if err != nil || string(b) != "k" || loosened != 0o644 {
		t.Fatalf("%q %v %v", b, loosened, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode left %v", st.Mode().Perm())
	}
	if _, loosened, err = atomicfile.ReadPrivate(p); err != nil || loosened != 0 {
		t.Errorf("second read: %v %v", loosened, err)
	}
	link, victim := plant(t, dir, "link.pem")
	if _, _, err := atomicfile.ReadPrivate(link); !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	untouched(t, link, victim)
	if _, _, err := atomicfile.ReadPrivate(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
