package entrafiber_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"

	entrafiber "github.com/entraguard/entraguard/fiber"
)

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
	srv, _ := authority(t)
	var logs syncBuffer
	v := loggedValidator(t, srv, &logs)
	base := fresh("/early")
	route := base + "/:id"
	read := func(c *fiber.Ctx) error {
		if _, ok := entrafiber.Claims(c); ok {
			return c.SendString("claims")
		}
		return c.SendString("none")
	}
	app := newApp()
	app.Get(route, read)
	app.Use(entrafiber.AuthenticateWithConfig(v, entrafiber.Config{
		Next: func(c *fiber.Ctx) bool { return c.Path() == base+"-public" }, // skipped: not a mistake
	}))
	app.Get(base+"-late", read)
	app.Get(base+"-public", read)
	tok := srv.UserToken("Orders.Read")
	for _, p := range []string{base + "/1", base + "/2", base + "-late", base + "-public"} {
		if res := get(t, app, p, "Bearer "+tok); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", p, res.StatusCode)
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
