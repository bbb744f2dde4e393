package entraecho_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entraecho "github.com/entraguard/entraguard/echo"
	"github.com/labstack/echo/v4"
)

// TestHandlerErrors checks that an *entra.Error a handler returns, bare or
// wrapped, is answered through ErrorHandler with the very bytes of the
// middleware's refusal, that WriteError writes them too, and that every
// other error still reaches the app's own error handler.
func TestHandlerErrors(t *testing.T) {
	srv, v := setup(t)
	var appHandled int
	e := echo.New()
	e.HTTPErrorHandler = entraecho.ErrorHandler(func(err error, c echo.Context) {
		appHandled++
		_ = c.String(http.StatusTeapot, "app: "+err.Error())
	})
	api := e.Group("/api", entraecho.Authenticate(v, entra.WithRealm("orders")))
	authorizeErr := func(c echo.Context) error {
		if resp := entra.Authorize(c.Request().Context(), entra.RequireRole("Admin")); resp != nil {
			return resp.Err
		}
		return nil
	}
	api.GET("/guarded", ok, entraecho.RequireRole("Admin"))
	api.GET("/returned", func(c echo.Context) error {
		if err := authorizeErr(c); err != nil {
			return fmt.Errorf("loading the admin page: %w", err)
		}
		return ok(c)
	})
	api.GET("/written", func(c echo.Context) error {
		if err := authorizeErr(c); err != nil {
			return entraecho.WriteError(c, err)
		}
		return ok(c)
	})
	challenge := entra.ClaimsChallenge(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`)
	api.GET("/challenge", func(c echo.Context) error { return challenge })
	api.GET("/other", func(c echo.Context) error { return errors.New("database down") })
	api.GET("/echo-error", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "busy") })

	ref := entra.Middleware(v, entra.WithRealm("orders"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entra.WriteError(w, r, challenge)
	}))
	reader := srv.AppToken("Reader")
	refused := adaptertest.Serve(e, "GET", "/api/guarded", reader)
	if refused.Code != http.StatusForbidden {
		t.Fatalf("middleware's refusal: status %d", refused.Code)
	}
	for _, path := range []string{"/api/returned", "/api/written"} {
		t.Run(path, func(t *testing.T) {
			adaptertest.SameAnswer(t, adaptertest.Serve(e, "GET", path, reader), refused)
		})
	}
	t.Run("claims challenge", func(t *testing.T) {
		got := adaptertest.Serve(e, "GET", "/api/challenge", reader)
		if got.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", got.Code)
		}
		adaptertest.SameAnswer(t, got, adaptertest.Serve(ref, "GET", "/api/challenge", reader))
	})
	if appHandled != 0 {
		t.Fatalf("the app's error handler ran %d times for *entra.Error", appHandled)
	}
	t.Run("other errors reach the app", func(t *testing.T) {
		for _, path := range []string{"/api/other", "/api/echo-error"} {
			if rec := adaptertest.Serve(e, "GET", path, reader); rec.Code != http.StatusTeapot {
				t.Errorf("%s: status %d %q, want the app's 418", path, rec.Code, rec.Body)
			}
		}
		if appHandled != 2 {
			t.Errorf("the app's error handler ran %d times, want 2", appHandled)
		}
	})
	t.Run("nil next is Echo's default", func(t *testing.T) {
		d := echo.New()
		d.HTTPErrorHandler = entraecho.ErrorHandler(nil)
		d.GET("/other", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "busy") })
		d.GET("/challenge", func(c echo.Context) error { return challenge }, entraecho.Authenticate(v, entra.WithRealm("orders")))
		if rec := adaptertest.Serve(d, "GET", "/other", ""); rec.Code != http.StatusConflict {
			t.Errorf("status %d, want Echo's 409", rec.Code)
		}
		adaptertest.SameAnswer(t, adaptertest.Serve(d, "GET", "/challenge", reader), adaptertest.Serve(ref, "GET", "/challenge", reader))
	})
}

// TestHandlerErrorAfterWrite checks that an *entra.Error returned after the
// handler has written its answer leaves that answer alone and goes to the
// app's handler, as Echo's own errors do.
func TestHandlerErrorAfterWrite(t *testing.T) {
	_, v := setup(t)
	var appHandled int
	e := echo.New()
	e.HTTPErrorHandler = entraecho.ErrorHandler(func(err error, c echo.Context) { appHandled++ })
	e.GET("/late", func(c echo.Context) error {
		_ = c.String(http.StatusOK, "written")
		return entra.ClaimsChallenge(`{}`)
	}, entraecho.Authenticate(v, entra.WithOptionalToken()))
	rec := adaptertest.Serve(e, "GET", "/late", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "written" || rec.Header().Get("Www-Authenticate") != "" {
		t.Errorf("answer %d %q %q, want the handler's 200 written", rec.Code, rec.Header().Get("Www-Authenticate"), rec.Body)
	}
	if appHandled != 1 {
		t.Errorf("the app's handler ran %d times, want 1", appHandled)
	}
}
