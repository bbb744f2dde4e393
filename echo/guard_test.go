package entraecho_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entraecho "github.com/entraguard/entraguard/echo"
	"github.com/labstack/echo/v4"
)

// TestRefusalIsFinal checks that a refused request runs no handler, that
// the middleware returns no error, and that a custom HTTPErrorHandler does
// not touch the core's answer.
func TestRefusalIsFinal(t *testing.T) {
	srv, v := setup(t)
	var calls, handled int
	var chainErr error
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		handled++
		_ = c.JSON(http.StatusTeapot, map[string]string{"message": "rewritten"})
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			chainErr = next(c)
			return chainErr
		}
	})
	api := e.Group("/api", entraecho.Authenticate(v))
	api.GET("/admin", func(c echo.Context) error { calls++; return c.String(http.StatusOK, "ok") }, entraecho.RequireRole("Admin"))
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
			rec := adaptertest.Serve(e, "GET", "/api/admin", tc.token)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.want, rec.Body.Bytes())
			}
			adaptertest.SameAnswer(t, rec, adaptertest.Serve(ref, "GET", "/api/admin", tc.token))
			if calls != 0 || handled != 0 || chainErr != nil {
				t.Errorf("handler ran %d times, HTTPErrorHandler %d times, chain returned %v; want 0, 0, nil", calls, handled, chainErr)
			}
		})
	}
	if rec := adaptertest.Serve(e, "GET", "/api/admin", srv.AppToken("Admin")); rec.Code != 200 || calls != 1 {
		t.Errorf("allowed request: status %d, handler ran %d times; want 200 and 1", rec.Code, calls)
	}
}

func TestSkipper(t *testing.T) {
	srv, v := setup(t)
	var reached int
	var claimsOK bool
	handler := func(c echo.Context) error {
		reached++
		_, claimsOK = entraecho.Claims(c)
		return c.String(http.StatusOK, "ok")
	}
	e := echo.New()
	api := e.Group("/api", entraecho.AuthenticateWithConfig(v, entraecho.Config{
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Path(), "/api/public") },
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
			rec := adaptertest.Serve(e, "GET", tc.path, tc.token)
			if rec.Code != tc.want || reached != tc.wantReached || claimsOK != tc.wantClaims {
				t.Errorf("status %d, handler reached %d times with claims %v; want %d, %d, %v (body %s)",
					rec.Code, reached, claimsOK, tc.want, tc.wantReached, tc.wantClaims, rec.Body.Bytes())
			}
		})
	}

	// Config.Options reach the core: the realm shapes the challenge.
	ref := entra.Middleware(v, entra.WithRealm("orders"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	adaptertest.SameAnswer(t, adaptertest.Serve(e, "GET", "/api/me", ""), adaptertest.Serve(ref, "GET", "/api/me", ""))
}

func TestAuthenticateWithConfigNilPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic at set-up")
		}
	}()
	entraecho.AuthenticateWithConfig(nil, entraecho.Config{})
}
