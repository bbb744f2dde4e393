package entragin_test

import (
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

// WithSkipPaths skips only the escaped path the request carries: an encoded
// slash does not turn "/health%2Flive" into the skipped "/health/live",
// whichever handler Gin routes it to (with UseRawPath, the protected /:id).
func TestSkipPathsMatchesTheEscapedPath(t *testing.T) {
	_, v := setup(t)
	for _, raw := range []bool{false, true} {
		r := gin.New()
		r.UseRawPath = raw
		r.Use(entragin.Authenticate(v, entra.WithSkipPaths("/health/live")))
		r.GET("/health/live", func(c *gin.Context) { c.String(http.StatusOK, "live") })
		r.GET("/:id", func(c *gin.Context) { c.String(http.StatusOK, "secret "+c.Param("id")) })
		if rec := serve(r, "GET", "/health/live", ""); rec.Code != http.StatusOK || rec.Body.String() != "live" {
			t.Errorf("UseRawPath=%v: /health/live: %d %q, want 200 live", raw, rec.Code, rec.Body)
		}
		for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live"} {
			rec := serve(r, "GET", p, "")
			if rec.Code != http.StatusUnauthorized || bodyCode(t, rec) != string(entra.CodeTokenMissing) {
				t.Errorf("UseRawPath=%v: %s was not authenticated: %d %q", raw, p, rec.Code, rec.Body)
			}
		}
	}
}
