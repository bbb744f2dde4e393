package entraecho_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraecho "github.com/entraguard/entraguard/echo/v5"
	"github.com/labstack/echo/v5"
)

// syncBuffer is a log sink safe to read while the validator writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// loggedValidator is a ready validator for srv whose logger writes to logs.
func loggedValidator(t *testing.T, srv *entratest.Server, logs *syncBuffer) *entra.Validator {
	t.Helper()
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v
}

// runs makes routes unique to one run of a test: a route is reported once
// per process, and go test -count=N runs each test N times in one.
var runs atomic.Int32

// fresh returns "/r<n>" followed by name, a route no earlier run used.
func fresh(name string) string { return fmt.Sprintf("/r%d%s", runs.Add(1), name) }

// A route outside the group that has the middleware never runs behind it: the
// route is open. Reading its claims is reported once per route, through the
// validator's logger, naming the route and the fix; a route behind the
// middleware is not reported.
func TestClaimsWithoutAuthenticateAreReported(t *testing.T) {
	srv, _ := setup(t)
	var logs syncBuffer
	v := loggedValidator(t, srv, &logs)
	base := fresh("/early")
	route := base + "/:id"
	read := func(c *echo.Context) error {
		if _, ok := entraecho.Claims(c); ok {
			return c.String(http.StatusOK, "claims")
		}
		return c.String(http.StatusOK, "none")
	}
	e := echo.New()
	e.GET(route, read)
	api := e.Group("/api", entraecho.AuthenticateWithConfig(v, entraecho.Config{
		Skipper: func(c *echo.Context) bool { return c.Path() == "/api/public" }, // skipped: not a mistake
	}))
	api.GET("/me", read)
	api.GET("/public", read)
	tok := srv.UserToken("Orders.Read")
	for _, p := range []string{base + "/1", base + "/2", "/api/me", "/api/public"} {
		if rec := serve(e, "GET", p, tok); rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once (for %s):\n%s", n, route, out)
	}
	if !strings.Contains(out, "route="+route) || !strings.Contains(out, "register the route in the group that has the middleware") {
		t.Errorf("the line does not name the route %s and the fix:\n%s", route, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token reached the log")
	}
}
