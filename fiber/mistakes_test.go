package entrafiber_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entrafiber "github.com/entraguard/entraguard/fiber"
)

// A route that Config.Next skips ran the middleware by choice: reading its
// claims (none) is not the mistake the shared suite checks is reported.
func TestSkippedRouteIsNotReported(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	var logs adaptertest.LogBuffer
	v := adaptertest.NewReadyValidator(t, srv, adaptertest.LogTo(&logs))
	app := newApp()
	app.Use(entrafiber.AuthenticateWithConfig(v, entrafiber.Config{
		Next: func(c *fiber.Ctx) bool { return c.Path() == "/public" },
	}))
	app.Get("/public", func(c *fiber.Ctx) error {
		if _, ok := entrafiber.Claims(c); ok {
			return c.SendString("claims")
		}
		return c.SendString("none")
	})
	res := get(t, app, "/public", "Bearer "+srv.UserToken("Orders.Read"))
	if b := body(t, res); res.StatusCode != http.StatusOK || string(b) != "none" {
		t.Fatalf("status %d %q, want 200 none", res.StatusCode, b)
	}
	if out := logs.String(); strings.Contains(out, "did not pass through the authentication middleware") {
		t.Errorf("a skipped route was reported:\n%s", out)
	}
}
