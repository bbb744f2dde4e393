// Command apicheck records the exported API of Go packages as text, one
// declaration a line, in the spirit of Go's own api/ files, and compares it
// with a recorded file so that a change to a library's public API is a
// decision, not an accident.
//
// Usage, from a module's directory:
//
//	apicheck [-o FILE] [PACKAGE_PATTERN...]   write the API (default ./...)
//	apicheck -check FILE [PACKAGE_PATTERN...] fail, listing the lines added and
//	                                          removed, when the API differs
//
// Packages under internal/ and main packages are skipped. The API is read
// from the compiler's export data (go list -export), so it is exactly what
// importers see, with no dependency beyond the Go toolchain.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

func main() {
	out := flag.String("o", "", "write the API to `FILE` (default standard output)")
	check := flag.String("check", "", "compare the API with the recorded `FILE` and fail on any difference")
	flag.Parse()
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	lines, err := apiLines(patterns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicheck:", err)
		os.Exit(2)
	}
	text := strings.Join(lines, "\n") + "\n"
	switch {
	case *check != "":
		recorded, err := os.ReadFile(*check)
		if err != nil {
			fmt.Fprintf(os.Stderr, "apicheck: %v (record the API with `make api`)\n", err)
			os.Exit(2)
		}
		added, removed := diff(strings.Split(strings.TrimSuffix(string(recorded), "\n"), "\n"), lines)
		if len(added)+len(removed) == 0 {
			return
		}
		fmt.Fprintf(os.Stderr, "apicheck: the exported API differs from %s:\n", *check)
		for _, l := range removed {
			fmt.Fprintln(os.Stderr, "  - "+l)
		}
		for _, l := range added {
			fmt.Fprintln(os.Stderr, "  + "+l)
		}
		fmt.Fprintln(os.Stderr, "If the change is intended, record it with `make api` and commit the file; a removed or changed line breaks users after a release (see docs/releasing.md).")
		os.Exit(1)
	case *out != "":
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "apicheck:", err)
			os.Exit(2)
		}
	default:
		io.WriteString(os.Stdout, text)
	}
}

// listed is the part of `go list -json` that apicheck reads.
type listed struct {
	ImportPath string
	Name       string
	Export     string
	Standard   bool
	DepOnly    bool
	Error      *struct{ Err string }
}

// apiLines lists the exported API of the packages matching patterns.
func apiLines(patterns []string) ([]string, error) {
	args := append([]string{"list", "-e", "-export", "-deps", "-json=ImportPath,Name,Export,Standard,DepOnly,Error"}, patterns...)
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	exports := map[string]string{}
	var targets []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %v", err)
		}
		if p.Error != nil && !p.DepOnly {
			return nil, fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly && p.Name != "main" && !isInternal(p.ImportPath) {
			targets = append(targets, p.ImportPath)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var lines []string
	for _, path := range targets {
		pkg, err := imp.Import(path)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %v", path, err)
		}
		lines = append(lines, packageLines(pkg)...)
	}
	slices.Sort(lines)
	return slices.Compact(lines), nil
}

func isInternal(path string) bool {
	return strings.HasSuffix(path, "/internal") || strings.Contains(path, "/internal/")
}

// packageLines describes every exported declaration of pkg.
func packageLines(pkg *types.Package) []string {
	prefix := "pkg " + pkg.Path() + ", "
	qual := func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Path()
	}
	typ := func(t types.Type) string { return types.TypeString(t, qual) }
	var lines []string
	add := func(s string) { lines = append(lines, prefix+s) }
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Const:
			add(fmt.Sprintf("const %s %s = %s", name, typ(o.Type()), o.Val().ExactString()))
		case *types.Var:
			add(fmt.Sprintf("var %s %s", name, typ(o.Type())))
		case *types.Func:
			add("func " + name + strings.TrimPrefix(typ(o.Signature()), "func"))
		case *types.TypeName:
			lines = append(lines, typeLines(prefix, o, typ)...)
		}
	}
	return lines
}

// typeLines describes an exported type: its kind, exported fields or
// interface methods, and the exported methods of T and *T.
func typeLines(prefix string, o *types.TypeName, typ func(types.Type) string) []string {
	name := o.Name()
	var lines []string
	add := func(s string) { lines = append(lines, prefix+s) }
	if o.IsAlias() {
		add(fmt.Sprintf("type %s = %s", name, typ(o.Type())))
		return lines
	}
	under := o.Type().Underlying()
	switch u := under.(type) {
	case *types.Struct:
		add("type " + name + " struct")
		for i := range u.NumFields() {
			f := u.Field(i)
			if !f.Exported() {
				continue
			}
			if f.Embedded() {
				add(fmt.Sprintf("type %s struct, embedded %s", name, typ(f.Type())))
				continue
			}
			add(fmt.Sprintf("type %s struct, %s %s", name, f.Name(), typ(f.Type())))
		}
	case *types.Interface:
		add("type " + name + " interface")
		for i := range u.NumMethods() {
			m := u.Method(i)
			if m.Exported() {
				add(fmt.Sprintf("type %s interface, %s%s", name, m.Name(), strings.TrimPrefix(typ(m.Signature()), "func")))
			}
		}
	default:
		add(fmt.Sprintf("type %s %s", name, typ(under)))
	}
	if named, ok := o.Type().(*types.Named); ok {
		for i := range named.NumMethods() {
			m := named.Method(i)
			if !m.Exported() {
				continue
			}
			sig := m.Signature()
			recv := name
			if _, ptr := sig.Recv().Type().(*types.Pointer); ptr {
				recv = "*" + name
			}
			add(fmt.Sprintf("method (%s) %s%s", recv, m.Name(), strings.TrimPrefix(typ(sig), "func")))
		}
	}
	return lines
}

// diff returns the lines of b not in a (added) and of a not in b (removed).
func diff(a, b []string) (added, removed []string) {
	in := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, l := range list {
			m[l] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	for _, l := range b {
		if !ina[l] {
			added = append(added, l)
		}
	}
	for _, l := range a {
		if l != "" && !inb[l] {
			removed = append(removed, l)
		}
	}
	return added, removed
}
