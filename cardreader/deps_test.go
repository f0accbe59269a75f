package cardreader

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// TestImports enforces the package boundary (DESIGN.md): cardreader and its
// backends never import Fyne, the app or the ui packages, and never import
// a logger (they return data and typed errors).
func TestImports(t *testing.T) {
	goTool := testenv.LookPath(t, "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/sithseid/sithseid/cardreader/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "fyne.io/") || under(dep, "github.com/sithseid/sithseid/app") || under(dep, "github.com/sithseid/sithseid/ui") {
			t.Errorf("cardreader depends on %s", dep)
		}
	}
	out, err = exec.Command(goTool, "list", "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "github.com/sithseid/sithseid/cardreader/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Fields(string(out)) {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Split(imports, ",") {
			if imp == "log" {
				t.Errorf("%s imports log", pkg)
			}
		}
	}
}

func under(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
