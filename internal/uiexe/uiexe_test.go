package uiexe

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// lookup is a case of a lookup from the executable self where only files
// exist, under the root /opt/x.
type lookup struct {
	name  string
	self  string
	files []string
	want  string
}

// under is path p under the lookups' root.
func under(p ...string) string {
	return filepath.Join(append([]string{filepath.FromSlash("/opt/x")}, p...)...)
}

// checkLookups runs find for each case, with only its files existing.
func checkLookups(t *testing.T, fn string, find func(self string, exists func(string) bool) (string, error), cases []lookup) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := find(c.self, func(p string) bool { return slices.Contains(c.files, p) })
			if err != nil || got != c.want {
				t.Errorf("%s(%s) = %q, %v; want %q", fn, c.self, got, err, c.want)
			}
		})
	}
}

func TestUIFor(t *testing.T) {
	j := under
	checkLookups(t, "UIFor", UIFor, []lookup{
		{"beside (bin/, INSTALLDIR, Contents/MacOS)", j("bin", MainName), []string{j("bin", Name), j("libexec", "sithseid", Name)}, j("bin", Name)},
		{"libexec (the DEB)", j("usr", "bin", MainName), []string{j("usr", "libexec", "sithseid", Name)}, j("usr", "libexec", "sithseid", Name)},
		{"the ui executable itself", j("usr", "libexec", "sithseid", Name), nil, j("usr", "libexec", "sithseid", Name)},
	})
}

func TestUIForMissing(t *testing.T) {
	self := filepath.Join(filepath.FromSlash("/usr/bin"), MainName)
	_, err := UIFor(self, func(string) bool { return false })
	var nf *NotFoundError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &nf) {
		t.Fatalf("err = %v, want a *NotFoundError", err)
	}
	want := []string{filepath.Join(filepath.FromSlash("/usr/bin"), Name), filepath.Join(filepath.FromSlash("/usr/libexec/sithseid"), Name)}
	if !slices.Equal(nf.Tried, want) {
		t.Errorf("tried %q, want %q", nf.Tried, want)
	}
}

func TestMainFor(t *testing.T) {
	j := under
	mainFor := func(self string, exists func(string) bool) (string, error) { return MainFor(self, exists), nil }
	checkLookups(t, "MainFor", mainFor, []lookup{
		{"the main executable itself", j("usr", "bin", MainName), nil, j("usr", "bin", MainName)},
		{"beside", j("bin", Name), []string{j("bin", MainName)}, j("bin", MainName)},
		{"from libexec", j("usr", "libexec", "sithseid", Name), []string{j("usr", "bin", MainName)}, j("usr", "bin", MainName)},
		{"nowhere: beside, where it belongs", j("bin", Name), nil, j("bin", MainName)},
	})
}

// TestUIForFiles: real files, reached through a symbolic link to the main
// executable (as /usr/bin links may be), resolved as Self resolves it.
func TestUIForFiles(t *testing.T) {
	dir := t.TempDir()
	inst := filepath.Join(dir, "usr", "bin")
	libexec := filepath.Join(dir, "usr", "libexec", "sithseid")
	for _, d := range []string{inst, libexec} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(inst, MainName)
	for _, f := range []string{main, filepath.Join(libexec, Name)} {
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self := main
	if runtime.GOOS != "windows" {
		link := filepath.Join(dir, "link")
		if err := os.Symlink(main, link); err != nil {
			t.Fatal(err)
		}
		r, err := filepath.EvalSymlinks(link)
		if err != nil {
			t.Fatal(err)
		}
		self = r
	}
	got, err := UIFor(self, isFile)
	if want := filepath.Join(libexec, Name); err != nil || !sameFile(t, got, want) {
		t.Errorf("UIFor = %q, %v; want %q", got, err, want)
	}
	if got := MainFor(filepath.Join(libexec, Name), isFile); !sameFile(t, got, main) {
		t.Errorf("MainFor = %q, want %q", got, main)
	}
	// A directory of that name is no executable.
	if err := os.Remove(filepath.Join(libexec, Name)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(inst, Name), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := UIFor(self, isFile); !errors.Is(err, ErrNotFound) {
		t.Errorf("with neither: err = %v, want ErrNotFound", err)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// TestSelf: the test binary finds itself, an absolute path.
func TestSelf(t *testing.T) {
	self, err := Self()
	if err != nil || !filepath.IsAbs(self) {
		t.Fatalf("Self() = %q, %v", self, err)
	}
	if got := MainFor(self, isFile); got != self {
		t.Errorf("MainFor(test binary) = %q, want itself", got)
	}
}
