// Command fiberv3 is the entraguard example API in Fiber v3: it accepts
// Microsoft Entra ID access tokens and guards each route with entrafiber
// (github.com/entraguard/entraguard/fiber/v3).
//
//	GET  /healthz     no token                                  200 {"status":"ok"}
//	GET  /api/me      any valid token (with scp or roles)       200 the caller
//	GET  /api/orders  scope Orders.Read, or app role Orders.Read.All for apps
//	POST /api/orders  scope Orders.Write                        201 the new order
//	GET  /api/admin   app role Admin                            200 {"admin":true}
//
// Run it with ENTRA_TENANT_ID and ENTRA_CLIENT_ID set to your tenant and
// API, or without them (`make run-fiberv3`) for demo mode: a local Entra ID
// emulator starts and sample requests are printed, ready to paste.
// The other variables are listed in examples/internal/demo.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/examples/internal/demo"
	entrafiber "github.com/entraguard/entraguard/fiber/v3"
)

func main() {
	if err := run(); err != nil {
		slog.Error("fiberv3 example stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C stops at once

	env := demo.Setup("fiberv3") // entra.ConfigFromEnv(), or demo mode
	defer env.Close()

	// One validator for the whole program: it keeps Entra ID's signing
	// keys fresh in the background until Close.
	v, err := entra.NewValidator(env.Config)
	if err != nil {
		return err
	}
	defer v.Close()

	app := fiber.New(fiber.Config{
		ReadTimeout: 30 * time.Second,
		// Fiber's 4 KB default refuses (431) the tokens of users in many
		// groups: leave room for a token of the validator's MaxTokenSize.
		ReadBufferSize: v.RequestHeaderSize(),
		// An *entra.Error a handler returns gets the middleware's RFC 6750
		// answer; every other error, Fiber's.
		ErrorHandler: entrafiber.ErrorHandler(nil),
	})
	app.Use(recover.New())

	app.Get("/healthz", func(c fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})

	// Every route of this group needs a valid token; guards add rules per route.
	api := app.Group("/api", entrafiber.Authenticate(v))
	api.Get("/me", func(c fiber.Ctx) error {
		claims, _ := entrafiber.Claims(c)
		return c.JSON(claims)
	})
	api.Get("/orders",
		entrafiber.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}),
		func(c fiber.Ctx) error {
			return c.JSON(fiber.Map{"orders": demo.Orders()})
		})
	api.Post("/orders", entrafiber.RequireScope("Orders.Write"), func(c fiber.Ctx) error {
		claims, _ := entrafiber.Claims(c)
		return c.Status(fiber.StatusCreated).JSON(demo.NewOrder(claims))
	})
	api.Get("/admin", entrafiber.RequireRole("Admin"), func(c fiber.Ctx) error {
		return c.JSON(fiber.Map{"admin": true})
	})

	serve := func(ln net.Listener) error {
		return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}
	return env.Serve(ctx, serve, app.ShutdownWithContext)
}
