// Package uiexe finds the product's two executables from the running one:
// sithseid (agent, CLI, URL handler) and sithseid-ui (the windows, the
// only one linked with Fyne and its GL driver; docs/architecture.md,
// "Processes"). It imports nothing of Fyne: the main binary and the
// agent use it.
//
// The ui executable lies beside the running executable (bin/ in
// development, INSTALLDIR on Windows, Contents/MacOS in the macOS bundle),
// else in <dir>/../libexec/sithseid/ (the DEB: /usr/bin/sithseid and
// /usr/libexec/sithseid/sithseid-ui).
package uiexe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Name is the ui executable's file name; MainName the main one's.
var (
	Name     = "sithseid-ui" + exeSuffix()
	MainName = "sithseid" + exeSuffix()
)

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// libexecDir is where a Unix package installs the ui executable,
// relative to the main executable's directory.
var libexecDir = filepath.Join("..", "libexec", "sithseid")

// ErrNotFound: the ui executable is not installed where it belongs.
var ErrNotFound = errors.New("the window program is not installed")

// NotFoundError says where the ui executable was looked for.
type NotFoundError struct {
	// Tried are the paths looked at, the first one where it belongs
	// beside the running executable.
	Tried []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s not found (looked at %s)", ErrNotFound.Error(), Name, strings.Join(e.Tried, ", "))
}

// Unwrap makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// Path returns the ui executable for the running executable, or a
// *NotFoundError.
func Path() (string, error) {
	self, err := Self()
	if err != nil {
		return "", err
	}
	return UIFor(self, isFile)
}

// Main returns the main executable: the running one, unless that is the
// ui executable, whose main executable is beside it or, from a libexec
// directory, in ../../bin. A window process starts the agent with it.
func Main() (string, error) {
	self, err := Self()
	if err != nil {
		return "", err
	}
	return MainFor(self, isFile), nil
}

// Self is the running executable, symlinks resolved (a /usr/bin link to
// the installed file finds that file's neighbours).
func Self() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("this program's path: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return exe, nil
}

// UIFor is Path for the executable self, exists telling which files are
// there.
func UIFor(self string, exists func(string) bool) (string, error) {
	dir := filepath.Dir(self)
	if isName(self, Name) {
		return self, nil
	}
	tried := []string{filepath.Join(dir, Name), filepath.Clean(filepath.Join(dir, libexecDir, Name))}
	for _, p := range tried {
		if exists(p) {
			return p, nil
		}
	}
	return "", &NotFoundError{Tried: tried}
}

// MainFor is Main for the executable self.
func MainFor(self string, exists func(string) bool) string {
	if !isName(self, Name) {
		return self
	}
	dir := filepath.Dir(self)
	beside := filepath.Join(dir, MainName)
	if exists(beside) {
		return beside
	}
	// <prefix>/libexec/sithseid/sithseid-ui → <prefix>/bin/sithseid
	if filepath.Base(dir) == "sithseid" && filepath.Base(filepath.Dir(dir)) == "libexec" {
		if p := filepath.Join(filepath.Dir(filepath.Dir(dir)), "bin", MainName); exists(p) {
			return p
		}
	}
	return beside // not found: the error names where it belongs
}

func isName(path, name string) bool {
	base := filepath.Base(path)
	if runtime.GOOS == "windows" {
		return strings.EqualFold(base, name)
	}
	return base == name
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
