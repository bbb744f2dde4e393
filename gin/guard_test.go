package entragin_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

// TestRefusalStopsTheChain checks that a refused request runs no later
// handler, records no Gin error, and leaves the core's answer for outer
// middleware to see.
func TestRefusalStopsTheChain(t *testing.T) {
	srv, v := setup(t)
	var calls int
	var errs int
	var aborted bool
	var status int
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		errs, aborted, status = len(c.Errors), c.IsAborted(), c.Writer.Status()
	})
	api := r.Group("/api", entragin.Authenticate(v))
	api.GET("/admin", entragin.RequireRole("Admin"), func(c *gin.Context) { calls++ }, func(c *gin.Context) { calls++ })

	tests := []struct {
		name  string
		token string
		want  int
	}{
		{name: "no token", want: 401},
		{name: "bad token", token: "not-a-jwt", want: 401},
		{name: "requirement not met", token: srv.AppToken("Reader"), want: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = 0
			rec := adaptertest.Serve(r, "GET", "/api/admin", tc.token)
			if rec.Code != tc.want || status != tc.want {
				t.Fatalf("status %d (Gin saw %d), want %d", rec.Code, status, tc.want)
			}
			if calls != 0 {
				t.Errorf("handlers ran %d times after a refusal", calls)
			}
			if !aborted || errs != 0 {
				t.Errorf("aborted %v with %d Gin errors, want aborted with none", aborted, errs)
			}
		})
	}
	if rec := adaptertest.Serve(r, "GET", "/api/admin", srv.AppToken("Admin")); rec.Code != 200 || calls != 2 {
		t.Errorf("allowed request: status %d, %d handlers ran; want 200 and 2", rec.Code, calls)
	}
}
