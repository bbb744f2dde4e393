package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeModule lays out a one-package module in a temporary directory and
// makes it the working directory for the test.
func writeModule(t *testing.T, src string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":              "module example.com/m\n\ngo 1.26.0\n",
		"lib/lib.go":          src,
		"lib/internal/x/x.go": "package x\n\nfunc Hidden() {}\n",
		"cmd/tool/main.go":    "package main\n\nfunc Exported() {}\n\nfunc main() {}\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
}

const libV1 = `package lib

// Config is exported.
type Config struct {
	Name    string
	secret  string
	Timeout int
}

// Kind is a named string.
type Kind string

const KindA Kind = "a"

var Default = Config{}

type Getter interface{ Get(key string) []string }

func New(c Config) (*Config, error) { return &c, nil }

func (c *Config) Validate() error { return nil }
func (c Config) String() string   { return c.secret }
func (c Config) unexported()      {}

func helper() {}
`

func TestAPILinesListExportedDeclarationsOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	writeModule(t, libV1)
	lines, err := apiLines([]string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`pkg example.com/m/lib, const KindA Kind = "a"`,
		`pkg example.com/m/lib, func New(c Config) (*Config, error)`,
		`pkg example.com/m/lib, method (*Config) Validate() error`,
		`pkg example.com/m/lib, method (Config) String() string`,
		`pkg example.com/m/lib, type Config struct`,
		`pkg example.com/m/lib, type Config struct, Name string`,
		`pkg example.com/m/lib, type Config struct, Timeout int`,
		`pkg example.com/m/lib, type Getter interface`,
		`pkg example.com/m/lib, type Getter interface, Get(key string) []string`,
		`pkg example.com/m/lib, type Kind string`,
		`pkg example.com/m/lib, var Default Config`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("API lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckReportsAnUnrecordedChange(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	writeModule(t, libV1)
	before, err := apiLines([]string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	// Rename a field and drop a method: both break importers.
	changed := strings.Replace(libV1, "Timeout int", "Deadline int", 1)
	changed = strings.Replace(changed, "func (c *Config) Validate() error { return nil }\n", "", 1)
	if err := os.WriteFile("lib/lib.go", []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := apiLines([]string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	added, removed := diff(before, after)
	if want := []string{"pkg example.com/m/lib, type Config struct, Deadline int"}; !slices.Equal(added, want) {
		t.Errorf("added = %q, want %q", added, want)
	}
	wantRemoved := []string{
		"pkg example.com/m/lib, method (*Config) Validate() error",
		"pkg example.com/m/lib, type Config struct, Timeout int",
	}
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed = %q, want %q", removed, wantRemoved)
	}
}

func TestBrokenPackageIsAnError(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	writeModule(t, "package lib\n\nfunc F() int { return \"not an int\" }\n")
	if _, err := apiLines([]string{"./..."}); err == nil {
		t.Fatal("apiLines of a package that does not compile succeeded")
	}
}
