package sidecar

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

const examplesDir = "../../../../examples/sidecar"

// block returns the lines between "# BEGIN entraguard" and "# END
// entraguard" in s, each trimmed of indentation.
func block(t *testing.T, what, s string) []string {
	t.Helper()
	var out []string
	in := false
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "# BEGIN entraguard"):
			in = true
		case strings.HasPrefix(l, "# END entraguard"):
			return out
		case in:
			out = append(out, l)
		}
	}
	t.Fatalf("%s has no # BEGIN entraguard ... # END entraguard block", what)
	return nil
}

// TestSnippetsAreTheTestedOnes checks that the nginx and Caddy
// configuration in examples/sidecar and docs/sidecar.md is the one the
// proxy tests run.
func TestSnippetsAreTheTestedOnes(t *testing.T) {
	var nginx, caddy bytes.Buffer
	if err := nginxConf.Execute(&nginx, map[string]any{"Dir": "/d", "Sidecar": "127.0.0.1:8181", "Listen": "127.0.0.1:8080", "Upstream": "http://127.0.0.1:8000", "Identity": DefaultPolicy().HeaderNames()}); err != nil {
		t.Fatal(err)
	}
	if err := caddyfile.Execute(&caddy, map[string]any{"Dir": "/d", "Sidecar": "127.0.0.1:8181", "Port": "8080", "Upstream": "127.0.0.1:8000", "Identity": DefaultPolicy().HeaderNames()}); err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../../../docs/sidecar.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tested, file string }{{nginx.String(), "nginx.conf"}, {caddy.String(), "Caddyfile"}} {
		want := strings.Join(block(t, "the tested "+c.file, c.tested), "\n")
		b, err := os.ReadFile(filepath.Join(examplesDir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(block(t, c.file, string(b)), "\n"); got != want {
			t.Errorf("examples/sidecar/%s differs from the tested configuration:\n%s\nwant:\n%s", c.file, got, want)
		}
		if !strings.Contains(trimLines(string(docs)), want) {
			t.Errorf("docs/sidecar.md does not show the tested %s block:\n%s", c.file, want)
		}
	}
	// The example's location / is the tested one, too.
	b, _ := os.ReadFile(filepath.Join(examplesDir, "nginx.conf"))
	loc := nginx.String()[strings.Index(nginx.String(), "location / {"):]
	if !strings.Contains(trimLines(string(b)), trimLines(loc[:strings.Index(loc, "}")])) {
		t.Errorf("examples/sidecar/nginx.conf's location / differs from the tested one")
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

// TestExampleNginxPython runs the conformance table against the example
// as shipped: examples/sidecar/nginx.conf in front of app.py (Python's
// http.server), with the sidecar deciding by examples/sidecar/rules.yaml.
func TestExampleNginxPython(t *testing.T) {
	nginxBin := needBinary(t, "nginx", "/usr/sbin/nginx")
	python := needBinary(t, "python3")
	conf, err := os.ReadFile(filepath.Join(examplesDir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
		sc := startSidecar(t, srv, filepath.Join(examplesDir, "rules.yaml"))
		appAddr := freePort(t)
		app := exec.Command(python, filepath.Join(examplesDir, "app.py"), appAddr[strings.LastIndexByte(appAddr, ':')+1:])
		dir := t.TempDir()
		runProxy(t, "app.py", dir, appAddr, app)
		listen := freePort(t)
		c := strings.NewReplacer("127.0.0.1:8181", sc, "127.0.0.1:8080", listen, "127.0.0.1:8000", appAddr, "error_log stderr", "error_log error.log").Replace(string(conf))
		file := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(file, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		runProxy(t, "nginx", dir, listen, exec.Command(nginxBin, "-p", dir, "-c", file, "-e", filepath.Join(dir, "error.log")))
		return "http://" + listen
	})
}
