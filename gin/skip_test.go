package entragin_test

import (
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

// WithSkipPaths skips only the escaped path the request carries, also when
// Gin routes on it (UseRawPath): "/health%2Flive" then reaches the
// protected /:id, and must be authenticated. The shared suite checks Gin's
// default routing.
func TestSkipPathsWithUseRawPath(t *testing.T) {
	_, v := setup(t)
	r := gin.New()
	r.UseRawPath = true
	r.Use(entragin.Authenticate(v, entra.WithSkipPaths("/health/live")))
	r.GET("/health/live", func(c *gin.Context) { c.String(http.StatusOK, "live") })
	r.GET("/:id", func(c *gin.Context) { c.String(http.StatusOK, "secret "+c.Param("id")) })
	if rec := adaptertest.Serve(r, "GET", "/health/live", ""); rec.Code != http.StatusOK || rec.Body.String() != "live" {
		t.Errorf("/health/live: %d %q, want 200 live", rec.Code, rec.Body)
	}
	for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live"} {
		rec := adaptertest.Serve(r, "GET", p, "")
		if rec.Code != http.StatusUnauthorized || bodyCode(t, rec) != string(entra.CodeTokenMissing) {
			t.Errorf("%s was not authenticated: %d %q", p, rec.Code, rec.Body)
		}
	}
}
