package emulator_test

import (
	"bufio"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfileBuild runs the build of emulator/Dockerfile without a
// Docker engine: the same build.sh command, in a directory holding only
// what the Dockerfile copies, and checks the image's promises: a static
// binary that runs, a final stage from scratch, a non-root user.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the entraguard binary; skipped with -short")
	}
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var copies [][2]string
	var run, user, lastFrom string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch fields[0] {
		case "FROM":
			lastFrom = fields[1]
		case "COPY":
			if len(fields) == 3 {
				copies = append(copies, [2]string{fields[1], fields[2]})
			}
		case "RUN":
			if fields[1] == "sh" {
				run = strings.Join(fields[1:], " ")
			}
		case "USER":
			user = fields[1]
		}
	}
	if run != "sh emulator/build.sh /out" {
		t.Fatalf("the Dockerfile's build is %q; this test runs \"sh emulator/build.sh /out\"", run)
	}
	if lastFrom != "scratch" || user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage FROM %q USER %q: want scratch and a non-root user", lastFrom, user)
	}
	src := t.TempDir()
	for _, c := range copies {
		if err := copyTree(filepath.Join("..", c[0]), filepath.Join(src, c[1])); err != nil {
			t.Fatalf("COPY %s %s: %v", c[0], c[1], err)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "emulator/build.sh", out)
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build fails: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "entraguard")
	e, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, p := range e.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v): a scratch image cannot run it", p.Type)
		}
	}
	if b, err := exec.Command(bin, "emulator", "-h").CombinedOutput(); err != nil || !strings.Contains(string(b), "-url") {
		t.Errorf("the built binary: %v\n%s", err, b)
	}
}

// copyTree copies a directory as COPY does.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}
