package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmoe/wasmoe/internal/testutil"
)

// declared indexes the repository's non-test Go declarations as "pkg.Name" (functions, types, variables,
// constants) and "pkg.Type.Method", where pkg is the package's name.
func declared(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := f.Name.Name
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names[pkg+"."+d.Name.Name] = true
					continue
				}
				typ := d.Recv.List[0].Type
				if s, ok := typ.(*ast.StarExpr); ok {
					typ = s.X
				}
				if g, ok := typ.(*ast.IndexExpr); ok { // a generic receiver
					typ = g.X
				}
				if id, ok := typ.(*ast.Ident); ok {
					names[pkg+"."+id.Name+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						names[pkg+"."+s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names[pkg+"."+n.Name] = true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// section returns the part of a document from the line that starts with from up to the next line that
// starts with to.
func section(t *testing.T, doc, from, to string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+from)
	if i < 0 {
		t.Fatalf("no line starting with %q", from)
	}
	rest := doc[i+1:]
	if j := strings.Index(rest, "\n"+to); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// The README's function-by-function path of a request names functions and methods that exist.
func TestRequestFlowNamesExist(t *testing.T) {
	root := testutil.Root()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	flow := section(t, string(readme), "Function by function", "| folder |")
	names := declared(t, root)
	qualified := regexp.MustCompile("`([a-z]+(?:\\.[A-Za-z_][A-Za-z0-9_]*){1,2})`")
	found := 0
	for _, m := range qualified.FindAllStringSubmatch(flow, -1) {
		found++
		if !names[m[1]] {
			t.Errorf("README's request flow names %s, which is not declared in any package", m[1])
		}
	}
	if found < 20 {
		t.Fatalf("README's request flow names %d functions; the section moved or lost its names", found)
	}
}

// repoPath matches a path into the repository written in a document: in backquotes or as a link target.
var repoPath = regexp.MustCompile("(?:`|\\]\\()(?:\\.\\./|\\./)?((?:internal|guest|tools|testdata)/[A-Za-z0-9_./*-]*)")

// Every repository path the top-level documents name exists (a glob must match something).
func TestDocumentPathsExist(t *testing.T) {
	root := testutil.Root()
	docs, _ := filepath.Glob(filepath.Join(root, "*.md"))
	more, _ := filepath.Glob(filepath.Join(root, "guest", "*.md"))
	checked := 0
	for _, doc := range append(docs, more...) {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		base := root
		if filepath.Dir(doc) != root { // links in guest/*.md are relative to guest/
			base = filepath.Dir(doc)
		}
		for _, m := range repoPath.FindAllSubmatch(b, -1) {
			p := strings.TrimRight(string(m[1]), ".")
			dir := root
			if strings.HasPrefix(string(m[0]), "](") {
				dir = base
			}
			matches, _ := filepath.Glob(filepath.Join(dir, p))
			if len(matches) == 0 {
				if _, err := os.Stat(filepath.Join(root, p)); err != nil {
					t.Errorf("%s names %s, which does not exist", filepath.Base(doc), p)
				}
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d paths; the documents lost their paths or the pattern broke", checked)
	}
}

// public lists the packages a Go user may import (RATIONALE.md, Layout): the guest SDK and the libraries a
// guest may link. A new importable package is a decision to make there first.
var public = map[string]bool{
	"guest/abi": true, "guest/sdk": true, "guest/sdk/policy": true, "guest/sdk/sdktest": true,
	"guest/constraint": true, "guest/sampling": true,
}

// Outside internal/, only the public packages and commands (package main) exist, and the public packages
// import nothing of the host.
func TestPublicPackages(t *testing.T) {
	root := testutil.Root()
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || d.Name() == "internal") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if f.Name.Name == "main" {
			return nil
		}
		if !public[rel] {
			t.Errorf("%s (package %s) is importable but not public: move it under internal/ or add it to RATIONALE.md's Layout and this list", rel, f.Name.Name)
			return nil
		}
		seen[rel] = true
		for _, imp := range f.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); strings.HasPrefix(p, "github.com/wasmoe/wasmoe/internal/") {
				t.Errorf("public %s imports %s: the guest SDK must not depend on the host", filepath.Base(path), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range public {
		if !seen[p] {
			t.Errorf("public package %s is gone: update RATIONALE.md's Layout and this list", p)
		}
	}
}
