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

// ExampleErrorHandler answers an *entra.Error that a handler returns with
// the RFC 6750 refusal, and leaves every other error to the app's handler.
// The read buffer fits a token of the validator's MaxTokenSize.
func ExampleErrorHandler() {
	srv := entratest.NewServer()
	defer srv.Close()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadBufferSize:        v.RequestHeaderSize(),
		ErrorHandler:          entrafiber.ErrorHandler(nil), // nil: fiber.DefaultErrorHandler for other errors
	})
	api := app.Group("/api", entrafiber.Authenticate(v))
	api.Get("/orders/:id", func(c *fiber.Ctx) error {
		claims, _ := entrafiber.Claims(c)
		if c.Params("id") == "7" && !claims.HasRole("Admin") { // a check of the handler's own
			return fmt.Errorf("order 7: %w", &entra.Error{Code: entra.CodeForbidden, Description: "order 7 needs the Admin role"})
		}
		if c.Params("id") == "8" {
			return fiber.NewError(fiber.StatusNotFound, "no such order")
		}
		return c.SendString("order " + c.Params("id"))
	})

	for _, id := range []string{"6", "7", "8"} {
		req := httptest.NewRequest("GET", "/api/orders/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+srv.AppToken("Reader"))
		resp, err := app.Test(req, -1)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 order 6
	// 403 {"error":"insufficient_scope","error_description":"order 7 needs the Admin role","code":"forbidden"}
	// 404 no such order
}
