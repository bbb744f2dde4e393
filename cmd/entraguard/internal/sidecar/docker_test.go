package sidecar

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfileBuild runs the build command of sidecar.Dockerfile's build
// stage, as written there (no Docker engine is needed), and checks that
// the binary is static, as the distroless image requires, and runs.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	f, err := os.Open("../../sidecar.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var run string
	copied := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") {
			run = strings.TrimPrefix(l, "RUN ")
		}
		if fields := strings.Fields(l); len(fields) == 3 && fields[0] == "COPY" {
			copied[strings.TrimSuffix(fields[1], "/")] = true
		}
	}
	// The build runs with GOWORK=off: every module the command's go.mod
	// replaces with a sibling directory must be in the build context.
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mod), "\n") {
		if _, dir, ok := strings.Cut(l, "=> ../../"); ok && strings.HasPrefix(l, "replace ") && !copied[strings.TrimSpace(dir)] {
			t.Errorf("go.mod replaces a module with ../../%s, but sidecar.Dockerfile does not COPY %s/: the image build would fail", strings.TrimSpace(dir), strings.TrimSpace(dir))
		}
	}
	if run == "" || !strings.Contains(run, "CGO_ENABLED=0") || !strings.Contains(run, "-o /out/entraguard") {
		t.Fatalf("the Dockerfile's build command is %q: want a CGO_ENABLED=0 go build -o /out/entraguard", run)
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.Replace(run, "/out/", out+"/", 1))
	cmd.Dir = "../.." // WORKDIR /src/cmd/entraguard
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, b)
	}
	bin := filepath.Join(out, "entraguard")
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary needs a dynamic loader: distroless/static cannot run it")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	rules := writeFile(t, "rules.yaml", contractRules)
	if b, err := exec.Command(bin, "sidecar", "check", rules).CombinedOutput(); err != nil || !strings.Contains(string(b), "OK: 5 rules") {
		t.Errorf("entraguard sidecar check: %v %s", err, b)
	}
}
