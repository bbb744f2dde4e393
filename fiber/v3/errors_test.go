package entrafiber_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v3"

	entra "github.com/entraguard/entraguard/core"
	entrafiber "github.com/entraguard/entraguard/fiber/v3"
)

// TestHandlerErrors checks that an *entra.Error a handler returns, bare or
// wrapped, is answered through ErrorHandler with the very bytes of the
// middleware's refusal, that WriteError writes them too, and that every
// other error still reaches the app's own error handler.
func TestHandlerErrors(t *testing.T) {
	srv, v := authority(t)
	var appHandled atomic.Int32
	app := fiber.New(fiber.Config{
		ErrorHandler: entrafiber.ErrorHandler(func(c fiber.Ctx, err error) error {
			appHandled.Add(1)
			return c.Status(http.StatusTeapot).SendString("app: " + err.Error())
		}),
	})
	api := app.Group("/api", entrafiber.Authenticate(v, entra.WithRealm("orders")))
	authorizeErr := func(c fiber.Ctx) error {
		if resp := entra.Authorize(c.Context(), entra.RequireRole("Admin")); resp != nil {
			return resp.Err
		}
		return nil
	}
	api.Get("/guarded", entrafiber.RequireRole("Admin"), ok)
	api.Get("/returned", func(c fiber.Ctx) error {
		if err := authorizeErr(c); err != nil {
			return fmt.Errorf("loading the admin page: %w", err)
		}
		return ok(c)
	})
	api.Get("/written", func(c fiber.Ctx) error {
		if err := authorizeErr(c); err != nil {
			return entrafiber.WriteError(c, err)
		}
		return ok(c)
	})
	challenge := entra.ClaimsChallenge(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`)
	api.Get("/challenge", func(c fiber.Ctx) error { return challenge })
	api.Get("/other", func(c fiber.Ctx) error { return errors.New("database down") })
	api.Get("/fiber-error", func(c fiber.Ctx) error { return fiber.NewError(http.StatusConflict, "busy") })

	ref := entra.Middleware(v, entra.WithRealm("orders"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entra.WriteError(w, r, challenge)
	}))
	reader := "Bearer " + srv.AppToken("Reader")
	refusedResp := get(t, app, "/api/guarded", reader)
	refused := httptest.NewRecorder()
	for k, vs := range refusedResp.Header {
		refused.Header()[k] = vs
	}
	refused.WriteHeader(refusedResp.StatusCode)
	_, _ = refused.Write(body(t, refusedResp))
	if refused.Code != http.StatusForbidden {
		t.Fatalf("middleware's refusal: status %d", refused.Code)
	}
	for _, path := range []string{"/api/returned", "/api/written"} {
		t.Run(path, func(t *testing.T) {
			sameRefusal(t, get(t, app, path, reader), refused)
		})
	}
	t.Run("claims challenge", func(t *testing.T) {
		want := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/challenge", nil)
		req.Header.Set("Authorization", reader)
		ref.ServeHTTP(want, req)
		if want.Code != http.StatusUnauthorized {
			t.Errorf("reference status %d, want 401", want.Code)
		}
		sameRefusal(t, get(t, app, "/api/challenge", reader), want)
	})
	if n := appHandled.Load(); n != 0 {
		t.Fatalf("the app's error handler ran %d times for *entra.Error", n)
	}
	t.Run("other errors reach the app", func(t *testing.T) {
		for _, path := range []string{"/api/other", "/api/fiber-error"} {
			if resp := get(t, app, path, reader); resp.StatusCode != http.StatusTeapot {
				t.Errorf("%s: status %d, want the app's 418", path, resp.StatusCode)
			}
		}
		if n := appHandled.Load(); n != 2 {
			t.Errorf("the app's error handler ran %d times, want 2", n)
		}
	})
	t.Run("nil next is Fiber's default", func(t *testing.T) {
		d := fiber.New(fiber.Config{ErrorHandler: entrafiber.ErrorHandler(nil)})
		d.Get("/other", func(c fiber.Ctx) error { return fiber.NewError(http.StatusConflict, "busy") })
		if resp := get(t, d, "/other"); resp.StatusCode != http.StatusConflict || string(body(t, resp)) != "busy" {
			t.Errorf("status %d, want Fiber's 409 busy", resp.StatusCode)
		}
	})
}
