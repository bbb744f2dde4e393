package entragin_test

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
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
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

// A handler registered before Use never runs behind the middleware: the
// route is open. Reading its claims is reported once per route, through the
// validator's logger, naming the route and the fix; a route behind the
// middleware is not reported.
func TestClaimsWithoutAuthenticateAreReported(t *testing.T) {
	srv, _ := setup(t)
	var logs syncBuffer
	v := loggedValidator(t, srv, &logs)
	base := fresh("/early")
	route := base + "/:id"
	read := func(c *gin.Context) {
		if _, ok := entragin.Claims(c); ok {
			c.String(http.StatusOK, "claims")
			return
		}
		c.String(http.StatusOK, "none")
	}
	r := gin.New()
	r.GET(route, read)
	r.Use(entragin.Authenticate(v))
	r.GET(base+"-late", read)
	tok := srv.UserToken("Orders.Read")
	for _, p := range []string{base + "/1", base + "/2", base + "-late"} {
		if rec := serve(r, "GET", p, tok); rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once (for %s):\n%s", n, route, out)
	}
	if !strings.Contains(out, "route="+route) || !strings.Contains(out, "call Use before registering the routes") {
		t.Errorf("the line does not name the route %s and the fix:\n%s", route, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token reached the log")
	}
}
