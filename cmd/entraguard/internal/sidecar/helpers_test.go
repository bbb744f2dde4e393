package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// contractRules is the examples' contract (shared/DESIGN.md) as a rules
// file: what examples/nethttp guards in code.
const contractRules = `# The examples' HTTP contract.
rules:
  - name: health
    path: /healthz
    methods: [GET]
    allow: public
  - name: me
    path: /api/me
    methods: [GET]
    allow: authenticated
  - name: list orders
    path: /api/orders
    methods: [GET]
    require:
      scope_or_role: {scopes: [Orders.Read], roles: [Orders.Read.All]}
  - name: create order
    path: /api/orders
    methods: [POST]
    require: {scopes: [Orders.Write]}
  - name: admin
    path: /api/admin
    methods: [GET]
    require: {roles: [Admin]}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSidecar runs the sidecar (Run, as the command does) for srv with
// the rules file (or none) and returns its address once it serves.
func startSidecar(t *testing.T, srv *entratest.Server, rulesFile string) string {
	t.Helper()
	return startSidecarConfig(t, srv.Config(), rulesFile, nil)
}

func startSidecarConfig(t *testing.T, cfg entra.Config, rulesFile string, reload <-chan struct{}) string {
	t.Helper()
	return startSidecarOptions(t, Options{Entra: cfg, ConfigFile: rulesFile, Reload: reload})
}

func startSidecarOptions(t *testing.T, o Options) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		o.Addr = "127.0.0.1:0"
		o.Listening = func(a, g string) {
			if g != "" {
				a += " " + g
			}
			addrc <- a
		}
		done <- Run(ctx, o)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sidecar stopped with %v", err)
		}
	})
	select {
	case a := <-addrc:
		return a
	case err := <-done:
		t.Fatalf("sidecar did not start: %v", err)
	}
	return ""
}

// upstream is the service behind the proxy: it serves the examples'
// contract's successes and records the identity headers it receives.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := http.Header{}
		for k, v := range r.Header {
			if strings.HasPrefix(k, "X-Entra-") {
				id[k] = v
			}
		}
		u.mu.Lock()
		u.seen = append(u.seen, id)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/healthz":
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		case r.Method == "POST" && r.URL.Path == "/api/orders":
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"created":true}`))
		default:
			_ = json.NewEncoder(w).Encode(id)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// last returns the identity headers of the last request upstream.
func (u *upstream) last(t *testing.T) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("no request reached the upstream")
	}
	return u.seen[len(u.seen)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// freePort returns a loopback address nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	_ = ln.Close()
	return a
}

// waitListening waits until addr accepts connections, or fails t.
func waitListening(t *testing.T, addr string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("the proxy exited before serving: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 30s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errNotInstalled = errors.New("not installed")

// needBinary returns the path of a proxy's binary, skipping the test when
// it is missing locally; in CI (CI set) a missing binary fails the test.
func needBinary(t *testing.T, name string, extra ...string) string {
	t.Helper()
	for _, p := range append([]string{name}, extra...) {
		if filepath.IsAbs(p) {
			if _, err := os.Stat(p); err == nil {
				return p
			}
			continue
		}
		if lp, err := lookPath(p); err == nil {
			return lp
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: %v; CI installs it (.ci/run: apt-get install nginx caddy)", name, errNotInstalled)
	}
	t.Skipf("%s is not installed (apt-get install %s); CI runs this test", name, name)
	return ""
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds; the deadline only bounds a failure.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
