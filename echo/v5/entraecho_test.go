package entraecho_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entraecho "github.com/entraguard/entraguard/echo/v5"
	"github.com/labstack/echo/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newAPI serves the example contract of adaptertest.NewAPI with Echo.
func newAPI(t *testing.T, v *entra.Validator, opts ...entra.Option) http.Handler {
	e := echo.New()
	e.GET("/healthz", func(c *echo.Context) error { return c.JSON(http.StatusOK, map[string]any{"status": "ok"}) })
	api := e.Group("/api", entraecho.Authenticate(v, opts...))
	api.GET("/me", func(c *echo.Context) error {
		claims, _ := entraecho.Claims(c)
		return c.JSON(http.StatusOK, claims) // null when anonymous, as the reference
	})
	api.GET("/orders", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"orders": []any{}})
	}, entraecho.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}))
	api.POST("/orders", func(c *echo.Context) error {
		return c.JSON(http.StatusCreated, map[string]any{"created": true})
	}, entraecho.RequireScope("Orders.Write"))
	api.GET("/admin", func(c *echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"admin": true})
	}, entraecho.RequireRole("Admin"))
	return e
}

func TestConformance(t *testing.T) {
	adaptertest.RunMiddlewareTests(t, newAPI)
}

// TestHTTPConformance runs the same table over a real HTTP server, as the
// outside suite runs it against the example programs.
func TestHTTPConformance(t *testing.T) {
	adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
		v, err := entra.NewValidator(srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		ts := httptest.NewServer(newAPI(t, v))
		t.Cleanup(ts.Close)
		return ts.URL
	})
}

func setup(t *testing.T) (*entratest.Server, *entra.Validator) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	return srv, adaptertest.NewReadyValidator(t, srv)
}

func bodyCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", rec.Body.Bytes(), err)
	}
	return b.Code
}

func ok(c *echo.Context) error { return c.String(http.StatusOK, "ok") }

// TestGroupGuards checks guards on an Echo group, alone and with a route's
// own (the shared suite checks route-level guards).
func TestGroupGuards(t *testing.T) {
	srv, v := setup(t)
	e := echo.New()
	api := e.Group("/api", entraecho.Authenticate(v))
	admin := api.Group("/admin", entraecho.RequireRole("Admin")) // group level
	admin.GET("/users", ok)
	admin.GET("/apps", ok, entraecho.RequireAppOnly())

	tests := []struct {
		name     string
		path     string
		token    string
		want     int
		wantCode string
	}{
		{name: "group guard met", path: "/api/admin/users", token: srv.AppToken("Admin"), want: 200},
		{name: "group guard not met", path: "/api/admin/users", token: srv.AppToken("Reader"), want: 403, wantCode: "forbidden"},
		{name: "group and route guards met", path: "/api/admin/apps", token: srv.AppToken("Admin"), want: 200},
		{name: "group guard met, route guard not", path: "/api/admin/apps", token: srv.Mint(entratest.Token{Scopes: []string{"S"}, Roles: []string{"Admin"}}), want: 403, wantCode: "forbidden"},
		{name: "no token under a group guard", path: "/api/admin/users", want: 401, wantCode: "token_missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := adaptertest.Serve(e, "GET", tc.path, tc.token)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.want, rec.Body.Bytes())
			}
			if tc.wantCode != "" {
				if got := bodyCode(t, rec); got != tc.wantCode {
					t.Errorf("code %q, want %q", got, tc.wantCode)
				}
			}
		})
	}
}

func TestClaims(t *testing.T) {
	srv, v := setup(t)
	e := echo.New()
	var got, fromCtx *entra.Claims
	var gotOK, ctxOK bool
	handler := func(c *echo.Context) error {
		got, gotOK = entraecho.Claims(c)
		fromCtx, ctxOK = entra.ClaimsFromContext(c.Request().Context())
		return c.NoContent(http.StatusNoContent)
	}
	e.GET("/api/me", handler, entraecho.Authenticate(v))
	e.GET("/anon", handler, entraecho.Authenticate(v, entra.WithOptionalToken()))

	adaptertest.Serve(e, "GET", "/api/me", srv.UserToken("Orders.Read"))
	if !gotOK || !ctxOK || got == nil || got != fromCtx {
		t.Fatalf("Claims = %p, %v; ClaimsFromContext = %p, %v; want the same claims", got, gotOK, fromCtx, ctxOK)
	}
	if !got.HasScope("Orders.Read") {
		t.Errorf("claims scopes %v, want Orders.Read", got.Scopes())
	}

	if rec := adaptertest.Serve(e, "GET", "/anon", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("anonymous request under WithOptionalToken: status %d", rec.Code)
	}
	if gotOK || got != nil || ctxOK {
		t.Errorf("anonymous request: Claims = %v, %v; want nil, false", got, gotOK)
	}
}
