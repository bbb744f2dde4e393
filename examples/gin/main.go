// Command gin is the entraguard example API in Gin: it accepts Microsoft
// Entra ID access tokens and guards each route with entragin.
//
//	GET  /healthz     no token                                  200 {"status":"ok"}
//	GET  /api/me      any valid token (with scp or roles)       200 the caller
//	GET  /api/orders  scope Orders.Read, or app role Orders.Read.All for apps
//	POST /api/orders  scope Orders.Write                        201 the new order
//	GET  /api/admin   app role Admin                            200 {"admin":true}
//
// Run it with ENTRA_TENANT_ID and ENTRA_CLIENT_ID set to your tenant and
// API, or without them (`make run`) for demo mode: a local Entra ID
// emulator starts and sample requests are printed, ready to paste.
// The other variables are listed in examples/internal/demo.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/examples/internal/demo"
	entragin "github.com/entraguard/entraguard/gin"
)

func main() {
	if err := run(); err != nil {
		slog.Error("gin example stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C stops at once

	env := demo.Setup("gin") // entra.ConfigFromEnv(), or demo mode
	defer env.Close()

	// One validator for the whole program: it keeps Entra ID's signing
	// keys fresh in the background until Close.
	v, err := entra.NewValidator(env.Config)
	if err != nil {
		return err
	}
	defer v.Close()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())

	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})

	// Every route of this group needs a valid token; guards add rules per route.
	api := r.Group("/api", entragin.Authenticate(v))
	api.GET("/me", func(c *gin.Context) {
		claims, _ := entragin.Claims(c)
		c.JSON(http.StatusOK, claims)
	})
	api.GET("/orders",
		entragin.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}),
		func(c *gin.Context) {
			c.JSON(http.StatusOK, gin.H{"orders": demo.Orders()})
		})
	api.POST("/orders", entragin.RequireScope("Orders.Write"), func(c *gin.Context) {
		claims, _ := entragin.Claims(c)
		c.JSON(http.StatusCreated, demo.NewOrder(claims))
	})
	api.GET("/admin", entragin.RequireRole("Admin"), func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"admin": true})
	})

	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	return env.Serve(ctx, srv.Serve, srv.Shutdown)
}
