package entraecho_test

import (
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entraecho "github.com/entraguard/entraguard/echo"
	"github.com/labstack/echo/v4"
)

// WithSkipPaths skips only the escaped path the request carries: Echo routes
// "/health%2Flive" on its raw path to the protected /:id, and the core must
// not take it for the skipped "/health/live".
func TestSkipPathsMatchesTheEscapedPath(t *testing.T) {
	_, v := setup(t)
	e := echo.New()
	e.Use(entraecho.Authenticate(v, entra.WithSkipPaths("/health/live")))
	e.GET("/health/live", func(c echo.Context) error { return c.String(http.StatusOK, "live") })
	e.GET("/:id", func(c echo.Context) error { return c.String(http.StatusOK, "secret "+c.Param("id")) })
	if rec := serve(e, "GET", "/health/live", ""); rec.Code != http.StatusOK || rec.Body.String() != "live" {
		t.Errorf("/health/live: %d %q, want 200 live", rec.Code, rec.Body)
	}
	for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live"} {
		rec := serve(e, "GET", p, "")
		if rec.Code != http.StatusUnauthorized || bodyCode(t, rec) != string(entra.CodeTokenMissing) {
			t.Errorf("%s was not authenticated: %d %q", p, rec.Code, rec.Body)
		}
	}
}
