package entra_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// initialisms are the words of a code's string written in capitals in its
// Go name, as Go names write them.
var initialisms = map[string]string{"id": "ID", "oid": "OID"}

// TestVocabulary keeps the exported names in one pattern each, so that a
// new name follows it: a Code constant is "Code" + the CamelCase of its
// string, its sentinel is "Err" + the same, and every function that returns
// an Option is named With…, Without… or On….
func TestVocabulary(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					vs, ok := s.(*ast.ValueSpec)
					if !ok {
						continue
					}
					for i, name := range vs.Names {
						if i >= len(vs.Values) {
							continue
						}
						checkValue(t, d.Tok, vs, name.Name, vs.Values[i], codes)
					}
				}
			case *ast.FuncDecl:
				if d.Recv != nil || !d.Name.IsExported() || d.Type.Results == nil || len(d.Type.Results.List) != 1 {
					continue
				}
				if id, ok := d.Type.Results.List[0].Type.(*ast.Ident); ok && id.Name == "Option" {
					n := d.Name.Name
					if !strings.HasPrefix(n, "With") && !strings.HasPrefix(n, "On") {
						t.Errorf("option %s: name options With…, Without… or On…", n)
					}
				}
			}
		}
	}
	if len(codes) < 20 {
		t.Fatalf("found %d Code constants; the parse missed them", len(codes))
	}
}

func checkValue(t *testing.T, tok token.Token, vs *ast.ValueSpec, name string, v ast.Expr, codes map[string]bool) {
	t.Helper()
	switch tok {
	case token.CONST:
		typ, ok := vs.Type.(*ast.Ident)
		lit, isLit := v.(*ast.BasicLit)
		if !ok || typ.Name != "Code" || !isLit {
			return
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		want.WriteString("Code")
		for _, w := range strings.Split(s, "_") {
			if up, ok := initialisms[w]; ok {
				want.WriteString(up)
			} else if w != "" {
				want.WriteString(strings.ToUpper(w[:1]) + w[1:])
			}
		}
		if name != want.String() {
			t.Errorf("Code %q is named %s, want %s", s, name, want.String())
		}
		codes[name] = true
	case token.VAR:
		// ErrX = &Error{Code: CodeX}
		u, ok := v.(*ast.UnaryExpr)
		if !ok {
			return
		}
		cl, ok := u.X.(*ast.CompositeLit)
		if !ok || len(cl.Elts) != 1 {
			return
		}
		if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "Error" {
			return
		}
		kv, ok := cl.Elts[0].(*ast.KeyValueExpr)
		if !ok {
			return
		}
		code, ok := kv.Value.(*ast.Ident)
		if !ok {
			return
		}
		if want := "Err" + strings.TrimPrefix(code.Name, "Code"); name != want {
			t.Errorf("the sentinel of %s is named %s, want %s", code.Name, name, want)
		}
	}
}
