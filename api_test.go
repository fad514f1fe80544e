package mocksmtp_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The packages whose exported API is pinned, and their files. Every change
// of an exported name, type, signature, field, method or constant value
// must come with the change of its file (go test -run TestAPI -update), so
// that it is deliberate and reviewed.
var apiFiles = []struct{ pkg, file string }{
	{"github.com/mocksmtp/mocksmtp", "api/mocksmtp.txt"},
	{"github.com/mocksmtp/mocksmtp/smtpd", "api/smtpd.txt"},
}

// apiHeader starts every API file.
const apiHeader = "# The exported API of package %s, one name a line, as TestAPI reads it from the\n" +
	"# compiled package. Rewrite it with go test -run TestAPI -update; review it with git diff.\n"

func TestAPI(t *testing.T) {
	t.Parallel()
	pkgs := make([]string, len(apiFiles))
	for i, f := range apiFiles {
		pkgs[i] = f.pkg
	}
	imp := apiImporter(t, pkgs)
	for _, f := range apiFiles {
		p, err := imp.Import(f.pkg)
		if err != nil {
			t.Fatalf("importing %s: %v", f.pkg, err)
		}
		got := apiEntries(p)
		for _, e := range got {
			if back := splitAPILine(e.String()); back != e {
				t.Errorf("the line %q reads back as key %q, want %q", e.String(), back.key, e.key)
			}
		}
		var text strings.Builder
		fmt.Fprintf(&text, apiHeader, p.Name())
		for _, e := range got {
			text.WriteString(e.String() + "\n")
		}
		if *update {
			if err := os.MkdirAll(filepath.Dir(f.file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.file, []byte(text.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(f.file)
		if err != nil {
			t.Errorf("%v; run go test -run TestAPI -update to write it", err)
			continue
		}
		if report := apiDiff(parseAPI(string(data)), got); report != "" {
			t.Errorf("the exported API of %s differs from %s:\n%s"+
				"If the change is deliberate, run go test -run TestAPI -update and commit %s with it.",
				f.pkg, f.file, report, f.file)
		}
	}
}

// apiImporter returns an importer of the packages pkgs and their
// dependencies, from the export data the go command writes for them.
func apiImporter(t *testing.T, pkgs []string) types.Importer {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("TestAPI needs the go command: %v", err)
	}
	args := append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, pkgs...)
	out, err := exec.CommandContext(t.Context(), goTool, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -export: %v\n%s", err, stderr)
	}
	exports := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

// apiEntry is one line of an API file: a key that names the thing
// ("func New", "type Message struct, From") and what it is.
type apiEntry struct{ key, decl string }

func (e apiEntry) String() string { return e.key + e.decl }

// apiEntries lists the exported API of p, sorted: constants with their
// type and value, variables and functions with their type, types with
// their underlying type, and one line for each exported field of a
// struct, each method of an interface, and each exported method.
func apiEntries(p *types.Package) []apiEntry {
	qual := func(other *types.Package) string {
		if other == p {
			return ""
		}
		return other.Name()
	}
	// Parameter names are no part of the API: types print without them,
	// "func(string, ...Option) (*Server, error)".
	typ := func(t types.Type) string { return types.TypeString(unnamed(t), qual) }
	sig := func(s *types.Signature) string { return strings.TrimPrefix(typ(s), "func") }
	var out []apiEntry
	scope := p.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Const:
			out = append(out, apiEntry{"const " + name, " " + typ(o.Type()) + " = " + o.Val().ExactString()})
		case *types.Var:
			out = append(out, apiEntry{"var " + name, " " + typ(o.Type())})
		case *types.Func:
			out = append(out, apiEntry{"func " + name, sig(o.Type().(*types.Signature))})
		case *types.TypeName:
			if o.IsAlias() {
				out = append(out, apiEntry{"type " + name, " = " + typ(types.Unalias(o.Type()))})
				continue
			}
			switch u := o.Type().Underlying().(type) {
			case *types.Struct:
				out = append(out, apiEntry{"type " + name, " struct"})
				for i := range u.NumFields() {
					f := u.Field(i)
					switch {
					case !f.Exported():
					case f.Embedded():
						out = append(out, apiEntry{"type " + name + " struct, embedded " + typ(f.Type()), ""})
					default:
						out = append(out, apiEntry{"type " + name + " struct, " + f.Name(), " " + typ(f.Type())})
					}
				}
			case *types.Interface:
				out = append(out, apiEntry{"type " + name, " interface"})
				for i := range u.NumMethods() {
					m := u.Method(i)
					if m.Exported() {
						out = append(out, apiEntry{"type " + name + " interface, " + m.Name(), sig(m.Type().(*types.Signature))})
					} else {
						out = append(out, apiEntry{"type " + name + " interface, unexported methods", ""})
					}
				}
			default:
				out = append(out, apiEntry{"type " + name, " " + typ(u)})
			}
			named, _ := o.Type().(*types.Named)
			if named == nil {
				continue
			}
			for i := range named.NumMethods() {
				m := named.Method(i)
				if !m.Exported() {
					continue
				}
				s := m.Type().(*types.Signature)
				recv := name
				if _, ptr := s.Recv().Type().(*types.Pointer); ptr {
					recv = "*" + name
				}
				out = append(out, apiEntry{"method (" + recv + ") " + m.Name(), sig(s)})
			}
		}
	}
	slices.SortFunc(out, func(a, b apiEntry) int { return strings.Compare(a.key, b.key) })
	return slices.CompactFunc(out, func(a, b apiEntry) bool { return a == b })
}

// unnamed returns t with the parameters and results of its function types
// unnamed.
func unnamed(t types.Type) types.Type {
	switch t := t.(type) {
	case *types.Signature:
		tuple := func(tu *types.Tuple) *types.Tuple {
			vars := make([]*types.Var, tu.Len())
			for i := range vars {
				vars[i] = types.NewParam(token.NoPos, nil, "", unnamed(tu.At(i).Type()))
			}
			return types.NewTuple(vars...)
		}
		return types.NewSignatureType(nil, nil, nil, tuple(t.Params()), tuple(t.Results()), t.Variadic())
	case *types.Pointer:
		return types.NewPointer(unnamed(t.Elem()))
	case *types.Slice:
		return types.NewSlice(unnamed(t.Elem()))
	case *types.Array:
		return types.NewArray(unnamed(t.Elem()), t.Len())
	case *types.Map:
		return types.NewMap(unnamed(t.Key()), unnamed(t.Elem()))
	case *types.Chan:
		return types.NewChan(t.Dir(), unnamed(t.Elem()))
	}
	return t
}

// parseAPI reads the entries of an API file. A line's key is what
// apiEntries made it: the text up to the type or signature.
func parseAPI(text string) []apiEntry {
	var out []apiEntry
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, splitAPILine(line))
	}
	return out
}

// splitAPILine splits a line of an API file into its key and declaration.
func splitAPILine(line string) apiEntry {
	var key string
	switch {
	case strings.HasPrefix(line, "method ("):
		// method (*Server) Addr() string
		if i := strings.Index(line, ") "); i >= 0 {
			rest := line[i+2:]
			key = line[:i+2] + rest[:identEnd(rest)]
		}
	case strings.Contains(line, " struct, embedded "), strings.HasSuffix(line, ", unexported methods"):
		key = line
	case strings.Contains(line, " struct, "), strings.Contains(line, " interface, "):
		// type Message struct, From string
		_, rest, _ := strings.Cut(line, ", ")
		key = line[:len(line)-len(rest)] + rest[:identEnd(rest)]
	default:
		// const StageRcpt Stage = 7, func New(...), type Stage int
		kind, rest, _ := strings.Cut(line, " ")
		key = kind + " " + rest[:identEnd(rest)]
	}
	if key == "" {
		key = line
	}
	return apiEntry{key, line[len(key):]}
}

// identEnd returns the length of the identifier s starts with.
func identEnd(s string) int {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return i
		}
	}
	return len(s)
}

// apiDiff says which entries of got were added to, removed from or
// changed in want; "" when they are the same.
func apiDiff(want, got []apiEntry) string {
	wantByKey := make(map[string]string)
	for _, e := range want {
		wantByKey[e.key] = e.decl
	}
	gotByKey := make(map[string]string)
	for _, e := range got {
		gotByKey[e.key] = e.decl
	}
	var added, removed, changed []string
	for _, e := range got {
		was, ok := wantByKey[e.key]
		switch {
		case !ok:
			added = append(added, "\t"+e.String())
		case was != e.decl:
			changed = append(changed, fmt.Sprintf("\t%s\n\t\twas: %s\n\t\tnow: %s", e.key, e.key+was, e.String()))
		}
	}
	for _, e := range want {
		if _, ok := gotByKey[e.key]; !ok {
			removed = append(removed, "\t"+e.String())
		}
	}
	var b strings.Builder
	for _, part := range []struct {
		name  string
		lines []string
	}{{"added", added}, {"removed", removed}, {"changed", changed}} {
		if len(part.lines) > 0 {
			fmt.Fprintf(&b, "%s:\n%s\n", part.name, strings.Join(part.lines, "\n"))
		}
	}
	return b.String()
}

func TestAPIDiff(t *testing.T) {
	t.Parallel()
	want := parseAPI(`# header
func New(...Option) (*Server, error)
method (*Server) Addr() string
type Message struct
type Message struct, From string
type Option interface
type Option interface, unexported methods
const StageRcpt Stage = 7
`)
	got := parseAPI(`func New(...Option) (*Server, bool)
method (*Server) Addr() string
method (*Server) Host() string
type Message struct
type Message struct, From []string
type Option interface
const StageRcpt Stage = 7
`)
	wantReport := `added:
	method (*Server) Host() string
removed:
	type Option interface, unexported methods
changed:
	func New
		was: func New(...Option) (*Server, error)
		now: func New(...Option) (*Server, bool)
	type Message struct, From
		was: type Message struct, From string
		now: type Message struct, From []string
`
	if diff := cmp.Diff(wantReport, apiDiff(want, got)); diff != "" {
		t.Errorf("apiDiff (-want +got):\n%s", diff)
	}
	if r := apiDiff(want, want); r != "" {
		t.Errorf("apiDiff of the same API = %q, want none", r)
	}
	for _, line := range []string{
		"func New(...Option) (*Server, error)",
		"method (*Server) Addr() string",
		"type Message struct, From string",
		"type Message struct, embedded smtpd.Reply",
		"type Option interface, unexported methods",
		"const StageRcpt Stage = 7",
		"var ErrClosed error",
		"type Transcript []Line",
		"type Config struct, NewSASL func(string) (SASLServer, error)",
		"type SASLServer interface, Next([]byte) ([]byte, bool, error)",
	} {
		if e := splitAPILine(line); e.String() != line || e.key == "" || strings.Contains(e.key, "(") && !strings.HasPrefix(e.key, "method") {
			t.Errorf("splitAPILine(%q) = %q + %q", line, e.key, e.decl)
		}
	}
}
