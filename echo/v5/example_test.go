package entraecho_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraecho "github.com/entraguard/entraguard/echo/v5"
	"github.com/labstack/echo/v5"
)

func Example() {
	authority := entratest.NewServer() // a local fake Entra ID; in production use entra.ConfigFromEnv()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	e := echo.New()
	e.GET("/healthz", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") }) // public: outside the group
	api := e.Group("/api", entraecho.Authenticate(v))                                       // protect
	api.GET("/admin", func(c *echo.Context) error {
		claims, _ := entraecho.Claims(c) // the caller
		return c.String(http.StatusOK, fmt.Sprintf("hello %s %v", claims.IdentityType(), claims.Roles()))
	}, entraecho.RequireRole("Admin")) // guard

	for _, token := range []string{"", authority.AppToken("Reader"), authority.AppToken("Admin")} {
		req := httptest.NewRequest("GET", "/api/admin", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var refusal struct{ Code string }
		if json.Unmarshal(rec.Body.Bytes(), &refusal) == nil {
			fmt.Println(rec.Code, refusal.Code)
		} else {
			fmt.Println(rec.Code, rec.Body.String())
		}
	}
	// Output:
	// 401 token_missing
	// 403 forbidden
	// 200 hello app [Admin]
}

// ExampleAuthenticateWithConfig skips authentication for one route with
// Echo's own Skipper idiom.
func ExampleAuthenticateWithConfig() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	e := echo.New()
	e.Use(entraecho.AuthenticateWithConfig(v, entraecho.Config{
		Skipper: func(c *echo.Context) bool { return c.Path() == "/healthz" }, // true = skip
		Options: []entra.Option{entra.WithRealm("orders")},
	}))
	e.GET("/healthz", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/me", func(c *echo.Context) error { return c.String(http.StatusOK, "me") })

	for _, path := range []string{"/healthz", "/me"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /healthz 200
	// /me 401
}

// ExampleErrorHandler answers an *entra.Error that a handler returns with
// the RFC 6750 refusal, and leaves every other error to the app's handler.
func ExampleErrorHandler() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	e := echo.New()
	e.HTTPErrorHandler = entraecho.ErrorHandler(e.HTTPErrorHandler)
	api := e.Group("/api", entraecho.Authenticate(v))
	api.GET("/orders/:id", func(c *echo.Context) error {
		claims, _ := entraecho.Claims(c)
		if c.Param("id") == "7" && !claims.HasRole("Admin") { // a check of the handler's own
			return fmt.Errorf("order 7: %w", &entra.Error{Code: entra.CodeForbidden, Description: "order 7 needs the Admin role"})
		}
		if c.Param("id") == "8" {
			return echo.NewHTTPError(http.StatusNotFound, "no such order")
		}
		return c.String(http.StatusOK, "order "+c.Param("id"))
	})

	for _, id := range []string{"6", "7", "8"} {
		req := httptest.NewRequest("GET", "/api/orders/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+authority.AppToken("Reader"))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 order 6
	// 403 {"error":"insufficient_scope","error_description":"order 7 needs the Admin role","code":"forbidden"}
	// 404 {"message":"no such order"}
}
