package entraecho_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraecho "github.com/entraguard/entraguard/echo"
	"github.com/labstack/echo/v4"
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
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") }) // public: outside the group
	api := e.Group("/api", entraecho.Authenticate(v))                                      // protect
	api.GET("/admin", func(c echo.Context) error {
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
		Skipper: func(c echo.Context) bool { return c.Path() == "/healthz" }, // true = skip
		Options: []entra.Option{entra.WithRealm("orders")},
	}))
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/me", func(c echo.Context) error { return c.String(http.StatusOK, "me") })

	for _, path := range []string{"/healthz", "/me"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code)
	}
	// Output:
	// /healthz 200
	// /me 401
}
