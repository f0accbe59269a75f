package oob

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// TestDependencies enforces DESIGN.md's boundaries: oob never imports Fyne,
// the app, the UI, the identity service or the card layer, directly or
// indirectly, and does no logging of its own (net/http and go-qrcode
// import package log internally; that is not oob logging).
func TestDependencies(t *testing.T) {
	gobin := testenv.LookPath(t, "go")
	list := func(format string) []string {
		args := []string{"list", "-f", format, "."}
		if strings.Contains(format, "ImportPath") {
			args = []string{"list", "-deps", "-f", format, "."}
		}
		out, err := exec.Command(gobin, args...).Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	for _, dep := range list("{{.ImportPath}}") {
		for _, prefix := range []string{
			"fyne.io/",
			"github.com/sithseid/sithseid/app",
			"github.com/sithseid/sithseid/ui",
			"github.com/sithseid/sithseid/idp",
			"github.com/sithseid/sithseid/cardreader",
		} {
			if dep == prefix || strings.HasPrefix(dep, strings.TrimSuffix(prefix, "/")+"/") {
				t.Errorf("oob depends on %s", dep)
			}
		}
	}
	direct := list(`{{join .Imports " "}}`)
	if len(direct) == 0 {
		t.Fatal("go list found no imports")
	}
	for _, imp := range direct {
		if imp == "log" || imp == "log/slog" {
			t.Errorf("oob imports %s", imp)
		}
	}
}
