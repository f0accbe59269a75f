package desktoptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// BuildSithseid builds the product's binary, bin/sithseid as
// "go build -o bin/ ./" makes it (package main at the module's root, Fyne,
// GLFW and libGL linked in, as installed), into a directory of tb's and
// returns its path. With the Go build cache after "make build" this is a
// link step. (Binaries builds it once per test binary instead.)
func BuildSithseid(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := build(dir, "."); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(dir, "sithseid")
}

// build runs "go build -o dir/ pkgs..." at the module's root.
func build(dir string, pkgs ...string) error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}
