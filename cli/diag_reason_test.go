package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// "diag --out" aimed at a folder that does not exist, or under a file,
// is a file error naming the path, never "could not reach the server"
// (usability review).
func TestDiagOutBadPathReason(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing", "diag.zip")
	r := sv(t, "", "diag", "--out", missing)
	if r.code == 0 {
		t.Fatalf("want failure, got %s", r)
	}
	wantIn(t, r.stderr, missing)
	wantIn(t, r.stderr, "mappen finns inte")
	wantNotIn(t, r.stderr, "nå servern")

	// A file where a folder should be: nothing can be written under it,
	// root or not.
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	under := filepath.Join(file, "diag.zip")
	r = en(t, "", "diag", "--out", under)
	if r.code == 0 {
		t.Fatalf("want failure, got %s", r)
	}
	wantIn(t, r.stderr, under)
	wantIn(t, r.stderr, "Could not write the file")
	wantNotIn(t, r.stderr, "reach the server")
}

func wantNotIn(t *testing.T, s, sub string) {
	t.Helper()
	if strings.Contains(s, sub) {
		t.Fatalf("want no %q in:\n%s", sub, s)
	}
}
