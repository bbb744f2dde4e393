package entrafiber_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entrafiber "github.com/entraguard/entraguard/fiber/v3"
)

// newAPI builds the conformance contract (adaptertest.NewAPI) with Fiber.
func newAPI(t *testing.T, v *entra.Validator, opts ...entra.Option) http.Handler {
	return overTheWire(t, contractApp(v, opts...))
}

// contractApp is the conformance contract as a Fiber app.
func contractApp(v *entra.Validator, opts ...entra.Option) *fiber.App {
	return contract(fiber.New(), v, opts...)
}

// contract adds the conformance contract's routes to app.
func contract(app *fiber.App, v *entra.Validator, opts ...entra.Option) *fiber.App {
	app.Get("/healthz", func(c fiber.Ctx) error {
		return writeJSON(c, fiber.StatusOK, map[string]any{"status": "ok"})
	})
	api := app.Group("/api", entrafiber.Authenticate(v, opts...))
	api.Get("/me", func(c fiber.Ctx) error {
		claims, _ := entrafiber.Claims(c)
		return writeJSON(c, fiber.StatusOK, claims)
	})
	api.Get("/orders", entrafiber.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}), func(c fiber.Ctx) error {
		return writeJSON(c, fiber.StatusOK, map[string]any{"orders": []any{}})
	})
	api.Post("/orders", entrafiber.RequireScope("Orders.Write"), func(c fiber.Ctx) error {
		return writeJSON(c, fiber.StatusCreated, map[string]any{"created": true})
	})
	api.Get("/admin", entrafiber.RequireRole("Admin"), func(c fiber.Ctx) error {
		return writeJSON(c, fiber.StatusOK, map[string]any{"admin": true})
	})
	return app
}

func TestConformance(t *testing.T) {
	adaptertest.RunMiddlewareTests(t, newAPI)
}

// customCtx is an app's own Ctx, as fiber.NewWithCustomCtx takes.
type customCtx struct{ fiber.DefaultCtx }

// TestCustomCtxConformance runs the table against an app with a Ctx of its
// own, which the adapter reads through the fiber.Ctx interface.
func TestCustomCtxConformance(t *testing.T) {
	adaptertest.RunMiddlewareTests(t, func(t *testing.T, v *entra.Validator, opts ...entra.Option) http.Handler {
		app := fiber.NewWithCustomCtx(func(app *fiber.App) fiber.CustomCtx {
			return &customCtx{DefaultCtx: *fiber.NewDefaultCtx(app)}
		})
		return overTheWire(t, contract(app, v, opts...))
	})
}

// TestHTTPConformance runs the same table through entratest's HTTP runner,
// as the outside suite runs it against the example programs.
func TestHTTPConformance(t *testing.T) {
	adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
		v, err := entra.NewValidator(srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		base, _ := listen(t, contractApp(v))
		return base
	})
}

// TestSuccessBodies compares successful answers with the reference byte for
// byte, which the shared table does only for refusals.
func TestSuccessBodies(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		opts   []entra.Option
	}{
		{name: "health", method: "GET", path: "/healthz"},
		{name: "me as a user", method: "GET", path: "/api/me", token: srv.UserToken("Orders.Read")},
		{name: "me as an app", method: "GET", path: "/api/me", token: srv.AppToken("Orders.Read.All")},
		{name: "me anonymous under WithOptionalToken", method: "GET", path: "/api/me", opts: []entra.Option{entra.WithOptionalToken()}},
		{name: "orders", method: "GET", path: "/api/orders", token: srv.UserToken("Orders.Read")},
		{name: "create order", method: "POST", path: "/api/orders", token: srv.UserToken("Orders.Write")},
		{name: "admin", method: "GET", path: "/api/admin", token: srv.AppToken("Admin")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serve := func(h http.Handler) *httptest.ResponseRecorder {
				req := httptest.NewRequest(tc.method, tc.path, nil)
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			got := serve(newAPI(t, v, tc.opts...))
			want := serve(adaptertest.ReferenceAPI(t, v, tc.opts...))
			if got.Code != want.Code || got.Code >= 300 {
				t.Fatalf("status %d, reference %d", got.Code, want.Code)
			}
			if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("body %q, reference %q", got.Body.Bytes(), want.Body.Bytes())
			}
			if g, w := got.Header().Get("Content-Type"), want.Header().Get("Content-Type"); g != w {
				t.Errorf("Content-Type %q, reference %q", g, w)
			}
		})
	}
}
