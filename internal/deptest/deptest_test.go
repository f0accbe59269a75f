// Package deptest enforces the import rules of docs/architecture.md:
// cardreader, mtls and oob never import Fyne or the app, ui or cli
// packages; app and cli never import Fyne's GL driver; the agent's tray
// (ui/tray) imports no Fyne at all.
package deptest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sithseid/sithseid"

type pkg struct {
	ImportPath string
	Deps       []string
}

func deps(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-deps=false", "-json=ImportPath,Deps"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v matched nothing", patterns)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	for _, rule := range []struct {
		patterns  []string
		forbidden []string
	}{
		{
			[]string{"./cardreader/...", "./mtls/...", "./oob/..."},
			[]string{"fyne.io/", module + "/app", module + "/ui", module + "/cli", module + "/idp"},
		},
		{
			[]string{"./app/...", "./cli/...", "./internal/l10n/..."},
			[]string{"fyne.io/fyne/v2/app", "fyne.io/fyne/v2/internal/driver/glfw", "github.com/go-gl/"},
		},
		{
			// The tray lives in the resident agent: systray over D-Bus or
			// Win32/Cocoa, never a Fyne app or GL (docs/architecture.md).
			[]string{"./ui/tray/..."},
			[]string{"fyne.io/fyne/", "github.com/go-gl/", module + "/cli"},
		},
		{
			// The windows' contents test headless: only the ui process's
			// entry point (package ui) opens the GL driver.
			[]string{"./ui/views/...", "./internal/usertext/..."},
			[]string{"fyne.io/fyne/v2/app", "fyne.io/fyne/v2/internal/driver/glfw", "github.com/go-gl/"},
		},
		{
			// Test helpers stay out of what is shipped.
			[]string{".", "./app/...", "./cli/...", "./cardreader/...", "./mtls/...", "./oob/...", "./ui/..."},
			[]string{module + "/internal/testkit/", module + "/idp"},
		},
	} {
		for _, p := range deps(t, rule.patterns...) {
			for _, d := range p.Deps {
				for _, f := range rule.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
						t.Errorf("%s imports %s (forbidden by the import rules)", p.ImportPath, d)
					}
				}
			}
		}
	}
}

// Only package ui, the ui process's entry point, imports Fyne's app
// package (the GL driver): every other package of the module that uses
// Fyne must stay testable headless.
func TestOnlyUIImportsFyneApp(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if imp != "fyne.io/fyne/v2/app" {
				continue
			}
			if fields[0] == module+"/ui" {
				found = true
				continue
			}
			t.Errorf("%s imports fyne.io/fyne/v2/app: only %s/ui may", fields[0], module)
		}
	}
	if !found {
		t.Errorf("%s/ui does not import fyne.io/fyne/v2/app: the rule checks nothing", module)
	}
}
