// Command echo is the entraguard example API in Echo: it accepts Microsoft
// Entra ID access tokens and guards each route with entraecho.
//
//	GET  /healthz     no token                                  200 {"status":"ok"}
//	GET  /api/me      any valid token (with scp or roles)       200 the caller
//	GET  /api/orders  scope Orders.Read, or app role Orders.Read.All for apps
//	POST /api/orders  scope Orders.Write                        201 the new order
//	GET  /api/admin   app role Admin                            200 {"admin":true}
//
// Run it with ENTRA_TENANT_ID and ENTRA_CLIENT_ID set to your tenant and
// API, or without them (`make run-echo`) for demo mode: a local Entra ID
// emulator starts and sample requests are printed, ready to paste.
// The other variables are listed in examples/internal/demo.
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	entra "github.com/entraguard/entraguard/core"
	entraecho "github.com/entraguard/entraguard/echo"
	"github.com/entraguard/entraguard/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		slog.Error("echo example stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C stops at once

	env := demo.Setup("echo") // entra.ConfigFromEnv(), or demo mode
	defer env.Close()

	// One validator for the whole program: it keeps Entra ID's signing
	// keys fresh in the background until Close.
	v, err := entra.NewValidator(env.Config)
	if err != nil {
		return err
	}
	defer v.Close()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// An *entra.Error a handler returns gets the middleware's RFC 6750
	// answer; every other error, Echo's.
	e.HTTPErrorHandler = entraecho.ErrorHandler(e.HTTPErrorHandler)
	e.Use(middleware.Recover())

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})

	// Every route of this group needs a valid token; guards add rules per route.
	api := e.Group("/api", entraecho.Authenticate(v))
	api.GET("/me", func(c echo.Context) error {
		claims, _ := entraecho.Claims(c)
		return c.JSON(http.StatusOK, claims)
	})
	api.GET("/orders", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"orders": demo.Orders()})
	}, entraecho.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}))
	api.POST("/orders", func(c echo.Context) error {
		claims, _ := entraecho.Claims(c)
		return c.JSON(http.StatusCreated, demo.NewOrder(claims))
	}, entraecho.RequireScope("Orders.Write"))
	api.GET("/admin", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]bool{"admin": true})
	}, entraecho.RequireRole("Admin"))

	e.Server.ReadHeaderTimeout = 10 * time.Second
	serve := func(ln net.Listener) error { e.Listener = ln; return e.Start("") } // serves on e.Listener
	return env.Serve(ctx, serve, e.Shutdown)
}
