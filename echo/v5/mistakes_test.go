package entraecho_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entraecho "github.com/entraguard/entraguard/echo/v5"
	"github.com/labstack/echo/v5"
)

// A route the Config.Skipper skips ran the middleware by choice: reading
// its claims (none) is not the mistake the shared suite checks is
// reported.
func TestSkippedRouteIsNotReported(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	var logs adaptertest.LogBuffer
	v := adaptertest.NewReadyValidator(t, srv, adaptertest.LogTo(&logs))
	read := func(c *echo.Context) error {
		if _, ok := entraecho.Claims(c); ok {
			return c.String(http.StatusOK, "claims")
		}
		return c.String(http.StatusOK, "none")
	}
	e := echo.New()
	api := e.Group("/api", entraecho.AuthenticateWithConfig(v, entraecho.Config{
		Skipper: func(c *echo.Context) bool { return c.Path() == "/api/public" },
	}))
	api.GET("/public", read)
	if rec := adaptertest.Serve(e, "GET", "/api/public", srv.UserToken("Orders.Read")); rec.Code != http.StatusOK || rec.Body.String() != "none" {
		t.Fatalf("status %d %q, want 200 none", rec.Code, rec.Body)
	}
	if out := logs.String(); strings.Contains(out, "did not pass through the authentication middleware") {
		t.Errorf("a skipped route was reported:\n%s", out)
	}
}
