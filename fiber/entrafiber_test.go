package entrafiber_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entrafiber "github.com/entraguard/entraguard/fiber"
)

// authority starts a fake Entra authority and a ready Validator for it.
func authority(t *testing.T) (*entratest.Server, *entra.Validator) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	return srv, adaptertest.NewReadyValidator(t, srv)
}

func newApp() *fiber.App { return fiber.New(fiber.Config{DisableStartupMessage: true}) }

func ok(c *fiber.Ctx) error { return c.SendString("ok") }

// sameRefusal checks that a Fiber refusal carries the core's exact answer,
// as the net/http reference writes it.
func sameRefusal(t *testing.T, got *http.Response, want *httptest.ResponseRecorder) {
	t.Helper()
	if got.StatusCode != want.Code {
		t.Errorf("status %d, reference %d", got.StatusCode, want.Code)
	}
	for _, h := range []string{"Www-Authenticate", "Retry-After", "Cache-Control", "Content-Type"} {
		if g, w := got.Header.Values(h), want.Header().Values(h); !slices.Equal(g, w) {
			t.Errorf("header %s = %q, reference %q", h, g, w)
		}
	}
	if g := body(t, got); !bytes.Equal(g, want.Body.Bytes()) {
		t.Errorf("body %q, reference %q", g, want.Body.Bytes())
	}
}

func TestNextSkips(t *testing.T) {
	srv, v := authority(t)
	app := newApp()
	api := app.Group("/api", entrafiber.AuthenticateWithConfig(v, entrafiber.Config{
		Next: func(c *fiber.Ctx) bool { return c.Path() == "/api/public" },
	}))
	var sawClaims atomic.Bool
	api.Get("/public", func(c *fiber.Ctx) error {
		_, has := entrafiber.Claims(c)
		sawClaims.Store(has)
		return ok(c)
	})
	api.Get("/private", ok)

	if resp := get(t, app, "/api/public"); resp.StatusCode != http.StatusOK {
		t.Errorf("skipped route without a token: %d, want 200", resp.StatusCode)
	}
	if resp := get(t, app, "/api/public", "Bearer "+srv.UserToken("Orders.Read")); resp.StatusCode != http.StatusOK || sawClaims.Load() {
		t.Errorf("skipped route with a token: %d, claims %v; want 200 and no claims", resp.StatusCode, sawClaims.Load())
	}
	if resp := get(t, app, "/api/private"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("other route without a token: %d, want 401", resp.StatusCode)
	}
	if resp := get(t, app, "/api/private", "Bearer "+srv.UserToken("Orders.Read")); resp.StatusCode != http.StatusOK {
		t.Errorf("other route with a token: %d, want 200", resp.StatusCode)
	}
}

func TestClaimsAccessor(t *testing.T) {
	srv, v := authority(t)
	app := newApp()
	app.Use(entrafiber.Authenticate(v, entra.WithOptionalToken()))
	var same, has atomic.Bool
	app.Get("/", func(c *fiber.Ctx) error {
		got, gotOK := entrafiber.Claims(c)
		want, wantOK := entra.ClaimsFromContext(c.UserContext())
		same.Store(got == want && gotOK == wantOK)
		has.Store(gotOK)
		return ok(c)
	})
	get(t, app, "/", "Bearer "+srv.UserToken("Orders.Read"))
	if !same.Load() || !has.Load() {
		t.Errorf("authenticated: Claims(c) differs from entra.ClaimsFromContext or is empty")
	}
	get(t, app, "/")
	if !same.Load() || has.Load() {
		t.Errorf("anonymous: Claims(c) differs from entra.ClaimsFromContext or has claims")
	}
}

// TestErrorHandlerDoesNotRewrite checks that refusals bypass the app's
// ErrorHandler and that no handler runs after a refusal.
func TestErrorHandlerDoesNotRewrite(t *testing.T) {
	srv, v := authority(t)
	var errorHandled, ran atomic.Int32
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			errorHandled.Add(1)
			return c.Status(http.StatusTeapot).SendString("teapot")
		},
	})
	app.Use(func(c *fiber.Ctx) error {
		// Earlier middleware set headers the refusal must replace.
		c.Set("Cache-Control", "public, max-age=60")
		c.Set("Content-Type", "text/html")
		return c.Next()
	})
	api := app.Group("/api", entrafiber.Authenticate(v, entra.WithRealm("orders")))
	handler := func(c *fiber.Ctx) error { ran.Add(1); return ok(c) }
	api.Get("/me", handler)
	api.Get("/admin", entrafiber.RequireRole("Admin"), handler)

	ref := adaptertest.ReferenceAPI(t, v, entra.WithRealm("orders"))
	for _, tc := range []struct {
		path string
		auth []string
	}{
		{"/api/me", nil},
		{"/api/me", []string{"Bearer not-a-jwt"}},
		{"/api/me", []string{"Bearer " + srv.UserToken("A"), "Bearer " + srv.UserToken("A")}},
		{"/api/admin", []string{"Bearer " + srv.UserToken("A")}},
	} {
		want := httptest.NewRecorder()
		req := httptest.NewRequest("GET", tc.path, nil)
		for _, a := range tc.auth {
			req.Header.Add("Authorization", a)
		}
		ref.ServeHTTP(want, req)
		sameRefusal(t, get(t, app, tc.path, tc.auth...), want)
	}
	if n := errorHandled.Load(); n != 0 {
		t.Errorf("the ErrorHandler ran %d times", n)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("the handler ran %d times on refusals", n)
	}
}

// TestTokenSources exercises every part of the request the core reads:
// custom headers, cookies, the query string and the path.
func TestTokenSources(t *testing.T) {
	srv, v := authority(t)
	app := newApp()
	app.Use(entrafiber.Authenticate(v,
		entra.WithTokenFromHeader("X-Token"),
		entra.WithTokenFromCookie("session"),
		entra.WithTokenFromQuery(),
		entra.WithSkipPaths("/healthz"),
	))
	app.Get("/*", ok)
	tok := srv.UserToken("Orders.Read")
	tests := []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"skipped path", "/healthz", nil, 200},
		{"other path", "/healthz/x", nil, 401},
		{"custom header", "/x", http.Header{"X-Token": {tok}}, 200},
		{"two custom headers", "/x", http.Header{"X-Token": {tok, tok}}, 400},
		{"cookie", "/x", http.Header{"Cookie": {"a=b; session=" + tok}}, 200},
		{"query", "/x?access_token=" + tok, nil, 200},
		{"two places", "/x?access_token=" + tok, http.Header{"Authorization": {"Bearer " + tok}}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header = tc.header
			if req.Header == nil {
				req.Header = http.Header{}
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.status, body(t, resp))
			}
		})
	}
}
