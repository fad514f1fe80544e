package mocksmtp_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDocsAndExamples checks the rule for the public API of each package:
// every exported name has a doc comment, and every exported function,
// type and method a runnable Example (one with an Output comment) that go
// doc shows with it. The convention, as ARCHITECTURE.md states it: the
// constants and variables of a type are covered by the Example of their
// type (one Example of Stage for every Stage constant), a method by the
// Example of its type when that Example calls it (an accessor shown in
// passing), a String or Error method by the Example of its type, which
// prints values; an untyped variable (an Err… value) by any Example that
// uses it. A whole-file example is run by a test of its file.
func TestDocsAndExamples(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{".", "smtpd"} {
		p := docPackage(t, dir)
		var missing []string
		need := func(what string, ok bool) {
			if !ok {
				missing = append(missing, what)
			}
		}
		all := slices.Concat(p.Examples)
		for _, f := range p.Funcs {
			all = append(all, f.Examples...)
		}
		for _, ty := range p.Types {
			all = append(all, ty.Examples...)
			for _, f := range ty.Funcs {
				all = append(all, f.Examples...)
			}
			for _, m := range ty.Methods {
				all = append(all, m.Examples...)
			}
		}
		for _, ex := range all {
			_, wholeFile := ex.Code.(*ast.File) // run by a test of its file
			need("Example"+ex.Name+" has an Output comment", ex.Output != "" || ex.EmptyOutput || wholeFile)
		}
		funcs := func(fs []*doc.Func) {
			for _, f := range fs {
				need(f.Name+": doc comment", f.Doc != "")
				need(f.Name+": Example", len(f.Examples) > 0)
			}
		}
		values := func(vs []*doc.Value, covered func(name string) bool) {
			for _, v := range vs {
				for _, name := range v.Names {
					if !token.IsExported(name) {
						continue
					}
					need(name+": doc comment", v.Doc != "" || specDoc(v.Decl, name))
					need(name+": an Example of its type, or one that uses it", covered(name))
				}
			}
		}
		funcs(p.Funcs)
		values(p.Consts, func(name string) bool { return usedIn(all, name) })
		values(p.Vars, func(name string) bool { return usedIn(all, name) })
		for _, ty := range p.Types {
			need(ty.Name+": doc comment", ty.Doc != "")
			need(ty.Name+": Example", len(ty.Examples) > 0)
			typed := func(string) bool { return len(ty.Examples) > 0 }
			values(ty.Consts, typed)
			values(ty.Vars, typed)
			funcs(ty.Funcs)
			for _, m := range ty.Methods {
				if !token.IsExported(m.Name) {
					continue
				}
				need(ty.Name+"."+m.Name+": doc comment", m.Doc != "")
				// String and Error are called by the fmt.Print of an Example.
				printed := (m.Name == "String" || m.Name == "Error") && len(ty.Examples) > 0
				need(ty.Name+"."+m.Name+": Example, or its type's Example calling it",
					len(m.Examples) > 0 || usedIn(ty.Examples, m.Name) || printed)
			}
		}
		if len(missing) > 0 {
			t.Errorf("package %s: %d missing:\n\t%s", p.Name, len(missing), strings.Join(missing, "\n\t"))
		}
	}
}

// docPackage reads the package in dir, its tests included, as go doc
// does: Examples attached to what they are named after.
func docPackage(t *testing.T, dir string) *doc.Package {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/mocksmtp/mocksmtp/"+dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// specDoc reports whether the spec that declares name in decl has a doc
// or line comment of its own.
func specDoc(decl *ast.GenDecl, name string) bool {
	for _, s := range decl.Specs {
		vs, ok := s.(*ast.ValueSpec)
		if !ok {
			continue
		}
		for _, n := range vs.Names {
			if n.Name == name {
				return vs.Doc != nil || vs.Comment != nil
			}
		}
	}
	return false
}

// usedIn reports whether one of the examples names name: as an
// identifier, or the selector of a method or field.
func usedIn(examples []*doc.Example, name string) bool {
	for _, ex := range examples {
		found := false
		ast.Inspect(ex.Code, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == name {
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}
