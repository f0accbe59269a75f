package desktoptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// BuildSithseid builds the product's binaries, bin/sithseid and
// bin/sithseid-ui as "make build" makes them (package main at the
// module's root; cmd/sithseid-ui, the windows, with Fyne, GLFW and libGL
// linked in), into a directory of tb's and returns the path of sithseid,
// whose "ui" command finds sithseid-ui beside it. With the Go build cache
// after "make build" these are link steps. (Binaries builds them once per
// test binary instead.)
func BuildSithseid(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := build(dir, ".", "./cmd/sithseid-ui"); err != nil {
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
