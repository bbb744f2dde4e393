package entrafiber_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entrafiber "github.com/entraguard/entraguard/fiber"
)

func Example() {
	srv := entratest.NewServer() // a fake Entra authority; use entra.ConfigFromEnv() for real
	defer srv.Close()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	api := app.Group("/api", entrafiber.Authenticate(v))
	api.Get("/admin", entrafiber.RequireRole("Admin"), func(c *fiber.Ctx) error {
		claims, _ := entrafiber.Claims(c)
		return c.SendString("hello " + string(claims.IdentityType()))
	})

	for _, token := range []string{"", srv.UserToken("Orders.Read"), srv.AppToken("Admin")} {
		req := httptest.NewRequest("GET", "/api/admin", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 {
			fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate") != "")
			continue
		}
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 401 true
	// 403 true
	// 200 hello app
}
