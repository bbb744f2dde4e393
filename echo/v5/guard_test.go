package entraecho_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entraecho "github.com/entraguard/entraguard/echo/v5"
	"github.com/labstack/echo/v5"
)

func TestGuardWithoutAuthenticate(t *testing.T) {
	srv, _ := setup(t)
	var calls int
	e := echo.New()
	e.GET("/x", func(c *echo.Context) error { calls++; return nil }, entraecho.RequireRole("Admin"))
	ref := entra.RequireRole("Admin").Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	tok := srv.AppToken("Admin") // a valid token, but nothing validated it
	rec := serve(e, "GET", "/x", tok)
	// Nothing read the token: the answer must not say that none was sent.
	if rec.Code != http.StatusInternalServerError || bodyCode(t, rec) != "internal" {
		t.Fatalf("status %d, body %s; want 500 internal", rec.Code, rec.Body.Bytes())
	}
	sameAnswer(t, rec, serve(ref, "GET", "/x", tok))
	if calls != 0 {
		t.Errorf("handler ran %d times", calls)
	}
}

// TestRefusalIsFinal checks that a refused request runs no handler, that
// the middleware returns no error, and that a custom HTTPErrorHandler does
// not touch the core's answer.
func TestRefusalIsFinal(t *testing.T) {
	srv, v := setup(t)
	var calls, handled int
	var chainErr error
	e := echo.New()
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		handled++
		_ = c.JSON(http.StatusTeapot, map[string]string{"message": "rewritten"})
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			chainErr = next(c)
			return chainErr
		}
	})
	api := e.Group("/api", entraecho.Authenticate(v))
	api.GET("/admin", func(c *echo.Context) error { calls++; return c.String(http.StatusOK, "ok") }, entraecho.RequireRole("Admin"))
	ref := entra.Middleware(v)(entra.RequireRole("Admin").Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

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
			calls, handled, chainErr = 0, 0, errors.New("not called")
			rec := serve(e, "GET", "/api/admin", tc.token)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.want, rec.Body.Bytes())
			}
			sameAnswer(t, rec, serve(ref, "GET", "/api/admin", tc.token))
			if calls != 0 || handled != 0 || chainErr != nil {
				t.Errorf("handler ran %d times, HTTPErrorHandler %d times, chain returned %v; want 0, 0, nil", calls, handled, chainErr)
			}
		})
	}
	if rec := serve(e, "GET", "/api/admin", srv.AppToken("Admin")); rec.Code != 200 || calls != 1 {
		t.Errorf("allowed request: status %d, handler ran %d times; want 200 and 1", rec.Code, calls)
	}
}

func TestSkipper(t *testing.T) {
	srv, v := setup(t)
	var reached int
	var claimsOK bool
	handler := func(c *echo.Context) error {
		reached++
		_, claimsOK = entraecho.Claims(c)
		return c.String(http.StatusOK, "ok")
	}
	e := echo.New()
	api := e.Group("/api", entraecho.AuthenticateWithConfig(v, entraecho.Config{
		Skipper: func(c *echo.Context) bool { return strings.HasPrefix(c.Path(), "/api/public") },
		Options: []entra.Option{entra.WithRealm("orders")},
	}))
	api.GET("/public", handler)
	api.GET("/public/admin", handler, entraecho.RequireRole("Admin"))
	api.GET("/me", handler)

	tests := []struct {
		name        string
		path        string
		token       string
		want        int
		wantReached int
		wantClaims  bool
	}{
		{name: "skipped without a token", path: "/api/public", want: 200, wantReached: 1},
		{name: "skipped with a bad token", path: "/api/public", token: "not-a-jwt", want: 200, wantReached: 1},
		// Nothing read the token: a guard on a skipped route is a set-up
		// mistake, answered 500 (not "no token was presented").
		{name: "skipped request has no claims for a guard", path: "/api/public/admin", token: srv.AppToken("Admin"), want: 500},
		{name: "not skipped without a token", path: "/api/me", want: 401},
		{name: "not skipped with a token", path: "/api/me", token: srv.UserToken("Orders.Read"), want: 200, wantReached: 1, wantClaims: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reached, claimsOK = 0, false
			rec := serve(e, "GET", tc.path, tc.token)
			if rec.Code != tc.want || reached != tc.wantReached || claimsOK != tc.wantClaims {
				t.Errorf("status %d, handler reached %d times with claims %v; want %d, %d, %v (body %s)",
					rec.Code, reached, claimsOK, tc.want, tc.wantReached, tc.wantClaims, rec.Body.Bytes())
			}
		})
	}

	// Config.Options reach the core: the realm shapes the challenge.
	ref := entra.Middleware(v, entra.WithRealm("orders"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	sameAnswer(t, serve(e, "GET", "/api/me", ""), serve(ref, "GET", "/api/me", ""))
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
	e := echo.New()
	e.GET("/api/me", ok, entraecho.Authenticate(v, render))
	ref := entra.Middleware(v, render)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	sameAnswer(t, serve(e, "GET", "/api/me", "not-a-jwt"), serve(ref, "GET", "/api/me", "not-a-jwt"))
}

func TestSetUpPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{name: "Authenticate(nil)", fn: func() { entraecho.Authenticate(nil) }},
		{name: "AuthenticateWithConfig(nil)", fn: func() { entraecho.AuthenticateWithConfig(nil, entraecho.Config{}) }},
		{name: "Require()", fn: func() { entraecho.Require() }},
		{name: "RequireScope()", fn: func() { entraecho.RequireScope() }},
		{name: "RequireAllScopes()", fn: func() { entraecho.RequireAllScopes() }},
		{name: "RequireRole()", fn: func() { entraecho.RequireRole() }},
		{name: "RequireAllRoles()", fn: func() { entraecho.RequireAllRoles() }},
		{name: "RequireScopeOrAppRole(nil, roles)", fn: func() { entraecho.RequireScopeOrAppRole(nil, []string{"Orders.Read.All"}) }},
		{name: "RequireScopeOrAppRole(scopes, nil)", fn: func() { entraecho.RequireScopeOrAppRole([]string{"Orders.Read"}, nil) }},
		{name: "RequireGroup()", fn: func() { entraecho.RequireGroup() }},
		{name: "RequireApp()", fn: func() { entraecho.RequireApp() }},
		{name: "RequireTenant()", fn: func() { entraecho.RequireTenant() }},
		{name: "RequireRole(\"\")", fn: func() { entraecho.RequireRole("") }},
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
	_ = entraecho.Authenticate(loggedValidator(t, srv, &logs)) // built, but not in front of the route below
	base := fresh("/unguarded")
	e := echo.New()
	e.GET(base+"/:id", func(c *echo.Context) error { return nil }, entraecho.RequireRole("Admin"))
	for range 2 {
		if rec := serve(e, "GET", base+"/7", srv.AppToken("Admin")); rec.Code != http.StatusInternalServerError {
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
