package entrafiber_test

import (
	"encoding/json"
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entrafiber "github.com/entraguard/entraguard/fiber"
	"github.com/gofiber/fiber/v2"
)

// WithSkipPaths skips only the escaped path the request carries, also when
// Fiber decodes c.Path() (Config.UnescapePath): "/health%2Flive" is not the
// skipped "/health/live", and never reaches a protected route unchecked.
// The shared suite checks Fiber's default routing; the doubled slash is
// checked here under both.
func TestSkipPathsMatchesTheEscapedPath(t *testing.T) {
	_, v := authority(t)
	for _, unescape := range []bool{false, true} {
		app := fiber.New(fiber.Config{DisableStartupMessage: true, UnescapePath: unescape})
		app.Use(entrafiber.Authenticate(v, entra.WithSkipPaths("/health/live")))
		app.Get("/health/live", func(c *fiber.Ctx) error { return c.SendString("live") })
		app.Get("/:id", func(c *fiber.Ctx) error { return c.SendString("secret " + c.Params("id")) })
		if resp := get(t, app, "/health/live"); resp.StatusCode != http.StatusOK || string(body(t, resp)) != "live" {
			t.Errorf("UnescapePath=%v: /health/live: %d, want 200 live", unescape, resp.StatusCode)
		}
		for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live", "//health/live"} {
			resp := get(t, app, p)
			var b struct {
				Code string `json:"code"`
			}
			raw := body(t, resp)
			if err := json.Unmarshal(raw, &b); err != nil || resp.StatusCode != http.StatusUnauthorized || b.Code != string(entra.CodeTokenMissing) {
				t.Errorf("UnescapePath=%v: %s was not authenticated: %d %q", unescape, p, resp.StatusCode, raw)
			}
		}
	}
}
