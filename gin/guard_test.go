package entragin_test

import (
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

func TestGuardWithoutAuthenticate(t *testing.T) {
	srv, _ := setup(t)
	var calls int
	r := gin.New()
	r.GET("/x", entragin.RequireRole("Admin"), func(c *gin.Context) { calls++ })
	ref := entra.RequireRole("Admin").Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	tok := srv.AppToken("Admin") // a valid token, but nothing validated it
	rec := serve(r, "GET", "/x", tok)
	// Nothing read the token: the answer must not say that none was sent.
	if rec.Code != http.StatusInternalServerError || bodyCode(t, rec) != "internal" {
		t.Fatalf("status %d, body %s; want 500 internal", rec.Code, rec.Body.Bytes())
	}
	sameAnswer(t, rec, serve(ref, "GET", "/x", tok))
	if calls != 0 {
		t.Errorf("handler ran %d times", calls)
	}
}

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
			rec := serve(r, "GET", "/api/admin", tc.token)
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
	if rec := serve(r, "GET", "/api/admin", srv.AppToken("Admin")); rec.Code != 200 || calls != 2 {
		t.Errorf("allowed request: status %d, %d handlers ran; want 200 and 2", rec.Code, calls)
	}
}

// TestErrorRenderer checks that a reshaped refusal is written as the core
// shaped it, headers included.
func TestErrorRenderer(t *testing.T) {
	_, v := setup(t)
	render := entra.WithErrorRenderer(func(err *entra.Error, r *entra.Response) {
		r.Header.Set("Content-Type", "application/problem+json")
		r.Header.Add("Cache-Control", "private")
		r.Body = []byte(`{"title":"` + string(err.Code) + `"}`)
	})
	r := gin.New()
	r.GET("/api/me", entragin.Authenticate(v, render), ok)
	ref := entra.Middleware(v, render)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	sameAnswer(t, serve(r, "GET", "/api/me", "not-a-jwt"), serve(ref, "GET", "/api/me", "not-a-jwt"))
}

func TestSetUpPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "Authenticate(nil)", fn: func() { entragin.Authenticate(nil) }},
		{name: "Require()", fn: func() { entragin.Require() }},
		{name: "RequireScope()", fn: func() { entragin.RequireScope() }},
		{name: "RequireAllScopes()", fn: func() { entragin.RequireAllScopes() }},
		{name: "RequireRole()", fn: func() { entragin.RequireRole() }},
		{name: "RequireAllRoles()", fn: func() { entragin.RequireAllRoles() }},
		{name: "RequireScopeOrAppRole(nil, roles)", fn: func() { entragin.RequireScopeOrAppRole(nil, []string{"Orders.Read.All"}) }},
		{name: "RequireScopeOrAppRole(scopes, nil)", fn: func() { entragin.RequireScopeOrAppRole([]string{"Orders.Read"}, nil) }},
		{name: "RequireGroup()", fn: func() { entragin.RequireGroup() }},
		{name: "RequireApp()", fn: func() { entragin.RequireApp() }},
		{name: "RequireTenant()", fn: func() { entragin.RequireTenant() }},
		{name: "RequireRole(\"\")", fn: func() { entragin.RequireRole("") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic at set-up")
				}
				if msg, _ := r.(string); !strings.HasPrefix(msg, "entra") {
					t.Errorf("panic %v, want a message prefixed by the package", r)
				}
			}()
			tc.fn()
		})
	}
}

// A guard with no Authenticate in front of it logs the mistake once, naming
// the route's pattern, to the logger of the Validator of the middleware
// built last.
func TestGuardWithoutAuthenticateIsLogged(t *testing.T) {
	srv, _ := setup(t)
	var logs syncBuffer
	_ = entragin.Authenticate(loggedValidator(t, srv, &logs)) // built, but not in front of the route below
	base := fresh("/unguarded")
	r := gin.New()
	r.GET(base+"/:id", entragin.RequireRole("Admin"), func(c *gin.Context) {})
	for range 2 {
		if rec := serve(r, "GET", base+"/7", srv.AppToken("Admin")); rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "did not pass through the authentication middleware"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "route="+base+"/:id") {
		t.Fatalf("the line does not name the route:\n%s", out)
	}
}
