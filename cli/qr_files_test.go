package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// plantLink makes dir/victim ("victim", 0644) and a link at dir/name to
// it, as another user sharing the directory would; check fails the test
// unless both are as planted.
func plantLink(t *testing.T, dir, name string) (link string, check func()) {
	t.Helper()
	victim := filepath.Join(dir, "victim")
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
	return link, func() {
		t.Helper()
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the planted link was replaced: %v", err)
		}
		if b, _ := os.ReadFile(victim); string(b) != "victim" {
			t.Errorf("the link's target was written: %q", b)
		}
		if st, _ := os.Stat(victim); st.Mode().Perm() != 0o644 {
			t.Errorf("the link's target was chmodded: %v", st.Mode().Perm())
		}
	}
}

// qr --out at a planted link: the command fails, the link and its target
// stay as they were.
func TestQROutSymlinkRefused(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	s := startIDP(t)
	o := s.order(t, "Logga in")
	link, check := plantLink(t, t.TempDir(), "qr.png")
	r := sv(t, "", "qr", oob.AutoStartURL(o.AutoStartToken, ""), "--out", link, "--env", "DEMO", "--service", s.URL)
	if r.code == 0 {
		t.Fatalf("qr wrote through a planted link: %s", r)
	}
	wantIn(t, r.stderr, "Filen är en symbolisk länk. SITHS eID skriver inte genom den")
	check()
}

// certs --export into a directory with a link planted at an export's
// name: nothing is written through it (app.Export refuses an existing
// name and opens with O_EXCL; a regression test).
func TestCertsExportSymlinkRefused(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	dir := t.TempDir()
	r := sv(t, "", "certs", "--export", dir)
	wantCode(t, r, 0)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(files) == 0 {
		t.Fatal("nothing exported")
	}
	dir2 := t.TempDir()
	_, check := plantLink(t, dir2, filepath.Base(files[0]))
	r = sv(t, "", "certs", "--export", dir2)
	if r.code == 0 {
		t.Fatalf("export wrote through a planted link: %s", r)
	}
	check()
}
