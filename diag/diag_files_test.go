//go:build unix

package diag_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/internal/atomicfile"
)

// A link planted at the archive's path (diag --out, the About window's
// save): the archive is not written through it and the link stays.
func TestWriteFileRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "diag.zip")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	err := diag.WriteFile(context.Background(), link, diag.Options{Version: "test"})
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "victim" {
		t.Errorf("the link's target was written: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary file left: %v", ents)
	}
}
