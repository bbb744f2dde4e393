package entra_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The core's own code (not its tests) imports only the standard library,
// itself, golang.org/x/sync and filippo.io/bigmod. golang-jwt (the fuzz
// oracle) and goleak are required by go.mod for _test.go files only.
func TestCoreImportsOnlyItsDependencies(t *testing.T) {
	allowed := []string{"github.com/entraguard/entraguard/core", "golang.org/x/sync/", "filippo.io/bigmod"}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(strings.Split(p, "/")[0], ".") {
				continue // standard library
			}
			ok := false
			for _, a := range allowed {
				ok = ok || p == strings.TrimSuffix(a, "/") || strings.HasPrefix(p, a)
			}
			if !ok {
				t.Errorf("%s imports %s: the core's code may depend only on %v", path, p, allowed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("read %d Go files; is the test running in core/?", files)
	}
}
