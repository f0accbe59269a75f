package deptest

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// The tree holds only code written for the project; libraries come in
// through go.mod as published (docs/architecture.md). A copied library
// tree carries its licence, a README saying whose it is, or its authors'
// copyright headers: each is a finding.

var (
	// licenceFile: a licence or notice file, which only the module's root
	// may have (the project's own).
	licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|patents|authors)([._-].*)?$`)
	// copiedDir: the directories where copies are kept by convention.
	copiedDir = regexp.MustCompile(`(?i)^(vendor|third[_-]?party)$`)
	// copiedReadme: a README that says its directory is someone else's
	// code, or names another project's licence.
	copiedReadme = regexp.MustCompile(`(?i)\b(a (patched )?copy of|copied from|fork(ed)? (of|from)|vendored)\b|\b(apache|mit|bsd|mozilla public|(lesser )?general public) licen[cs]e\b`)
	// foreignHeader: a copyright or licence header before the package
	// clause of a .go file (the project's files have none).
	foreignHeader = regexp.MustCompile(`(?i)copyright\s*(\(c\)|©)?\s*(19|20)\d\d|\bthe (go|piv-go) authors\b|spdx-license-identifier|licensed under the|all rights reserved`)
	ownName       = regexp.MustCompile(`(?i)sithseid|siths eid`)
)

// foreignCode returns what in files (slash paths relative to root) looks
// like another project's code.
func foreignCode(root string, files []string) []string {
	var found []string
	for _, f := range files {
		dir, base := path.Split(f)
		for _, d := range strings.Split(strings.Trim(dir, "/"), "/") {
			if copiedDir.MatchString(d) {
				found = append(found, f+": in a "+d+" directory")
				break
			}
		}
		if dir == "" {
			continue // the module's own README and licence
		}
		switch {
		case licenceFile.MatchString(base):
			found = append(found, f+": a licence file below the module's root")
		case strings.HasPrefix(strings.ToLower(base), "readme"):
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				continue // listed but deleted in the worktree
			}
			if m := copiedReadme.Find(b); m != nil {
				found = append(found, f+": README says "+strings.Join(strings.Fields(string(m)), " "))
			}
		case strings.HasSuffix(base, ".go"):
			if h := goHeader(filepath.Join(root, f)); h != "" {
				found = append(found, f+": header "+h)
			}
		}
	}
	return found
}

// goHeader returns the copyright or licence line of the comments before
// a .go file's package clause, unless it names the project.
func goHeader(file string) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil {
		return ""
	}
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, line := range strings.Split(g.Text(), "\n") {
			if foreignHeader.MatchString(line) && !ownName.MatchString(line) {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

// moduleFiles lists the module's files as git sees them: tracked, and new
// ones not ignored (a tree copied in a moment ago counts).
func moduleFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "git ls-files: %v", err)
	}
	return strings.Fields(string(out))
}

func TestNoCopiedThirdPartyTree(t *testing.T) {
	files := moduleFiles(t)
	if len(files) < 100 {
		t.Fatalf("git lists %d files: the rule checks nothing", len(files))
	}
	for _, f := range foreignCode("../..", files) {
		t.Errorf("%s: another project's code in the tree; require it in go.mod as published", f)
	}
}

// copyright is spelled apart from the years and names below so that this
// file, which plants foreign headers in a scratch tree, is not itself a
// file with a foreign header to a plain grep.
const copyright = "Copy" + "right"

// TestForeignCodeFindsACopy: the rule finds the shape of the piv-go copy
// that was here (licence, README, headers) and lets the project's own
// files be.
func TestForeignCodeFindsACopy(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"README.md":                       "# sithseid\nSee the Apache License for nothing.\n",
		"x/piv/internal/lib/LICENSE":      "Apache License\nVersion 2.0\n",
		"x/piv/internal/lib/README.md":    "# lib: piv-go with fixes\n\nA copy of the `piv` package of github.com/go-piv/piv-go/v2 v2.6.0\n(Apache License 2.0, see LICENSE)\n",
		"x/piv/internal/lib/piv.go":       "// " + copyright + " 2020 Google LLC\n//\n// Licensed under the Apache License, Version 2.0\n\npackage lib\n",
		"x/piv/internal/lib/pss.go":       "// " + copyright + " 2013 The Go Authors. All rights reserved.\n\npackage lib\n",
		"x/piv/own.go":                    "// Package piv talks to Yubico's extensions (Copyright is a word).\npackage piv\n\n// " + copyright + " 2020 Google LLC, after the package clause: not a header.\n",
		"x/piv/third_party/rsa/rsa.go":    "package rsa\n",
		"x/piv/testdata/README":           "Test vectors written for this project.\n",
		"x/piv/own_header.go":             "// Copyright 2026 The SITHS eID authors.\n\npackage piv\n",
		"packaging/policy/README":         "# cp /etc/sithseid/policy.json.example here\n",
		"docs/README.md":                  "The card speaks PIV; piv-go comes from go.mod.\n",
		"internal/vendorlike/vendorer.go": "package vendorlike\n",
	}
	var names []string
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	got := map[string]bool{}
	for _, f := range foreignCode(root, names) {
		got[strings.SplitN(f, ":", 2)[0]] = true
	}
	want := []string{
		"x/piv/internal/lib/LICENSE", "x/piv/internal/lib/README.md",
		"x/piv/internal/lib/piv.go", "x/piv/internal/lib/pss.go", "x/piv/third_party/rsa/rsa.go",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s not found", w)
		}
		delete(got, w)
	}
	for f := range got {
		t.Errorf("%s found, but is the project's own", f)
	}
}

// goModFile is what `go mod edit -json` says of go.mod.
type goModFile struct {
	Require []struct {
		Path     string
		Version  string
		Indirect bool
	}
	Replace []struct {
		Old struct{ Path string }
		New struct{ Path, Version string }
	}
}

func readGoMod(t *testing.T) goModFile {
	t.Helper()
	cmd := exec.Command("go", "mod", "edit", "-json")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var m goModFile
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const pivGo = "github.com/go-piv/piv-go/v2"

// TestPIVGoFromGoMod: when the PIV backend imports piv-go, go.mod requires
// it directly, as published (no replace); and no module is replaced by a
// directory, which would be a copied tree by another name.
func TestPIVGoFromGoMod(t *testing.T) {
	mod := readGoMod(t)
	for _, r := range mod.Replace {
		if r.New.Version == "" {
			t.Errorf("go.mod replaces %s by the directory %s: require the published module", r.Old.Path, r.New.Path)
		}
		if r.Old.Path == pivGo {
			t.Errorf("go.mod replaces %s by %s %s", pivGo, r.New.Path, r.New.Version)
		}
	}
	imports := false
	for _, p := range deps(t, "./cardreader/piv/...") {
		for _, d := range p.Deps {
			if d == pivGo || strings.HasPrefix(d, pivGo+"/") {
				imports = true
			}
		}
	}
	if !imports {
		return
	}
	for _, r := range mod.Require {
		if r.Path == pivGo {
			if r.Indirect {
				t.Errorf("go.mod requires %s %s as indirect, but cardreader/piv imports it", pivGo, r.Version)
			}
			return
		}
	}
	t.Errorf("cardreader/piv imports %s, but go.mod does not require it", pivGo)
}

// TestPIVGoCardAPIUnused: cardreader/piv speaks to the card through
// cardreader/pcsc, the project's one PC/SC binding. piv-go's card API
// (Open, Cards, YubiKey, KeyAuth) connects exclusively, leaks its handle
// when a card is pulled during Open, and takes PINs as strings, so the
// backend uses piv-go for definitions only.
func TestPIVGoCardAPIUnused(t *testing.T) {
	forbidden := map[string]bool{"Open": true, "Cards": true, "YubiKey": true, "KeyAuth": true, "Client": true}
	dir := "../../cardreader/piv"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		names := map[string]bool{}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p != pivGo+"/piv" {
				continue
			}
			name := "piv"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] && forbidden[sel.Sel.Name] {
				t.Errorf("%s: uses piv-go's %s: speak to the card through cardreader/pcsc", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatalf("no Go files in %s: the rule checks nothing", dir)
	}
}
