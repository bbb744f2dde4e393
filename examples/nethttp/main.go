// Command nethttp is the entraguard example API with the standard library
// only: it accepts Microsoft Entra ID access tokens with the core's
// net/http middleware and guards each route with an entra.Requirement.
//
//	GET  /healthz     no token                                  200 {"status":"ok"}
//	GET  /api/me      any valid token (with scp or roles)       200 the caller
//	GET  /api/orders  scope Orders.Read, or app role Orders.Read.All for apps
//	POST /api/orders  scope Orders.Write                        201 the new order
//	GET  /api/admin   app role Admin                            200 {"admin":true}
//
// Run it with ENTRA_TENANT_ID and ENTRA_CLIENT_ID set to your tenant and
// API, or without them (`go run ./examples/nethttp`) for demo mode: a local
// Entra ID emulator starts and sample requests are printed, ready to paste.
// The other variables are listed in examples/internal/demo.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/examples/internal/demo"
)

func main() {
	if err := run(); err != nil {
		slog.Error("nethttp example stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl+C stops at once

	env := demo.Setup("nethttp") // entra.ConfigFromEnv(), or demo mode
	defer env.Close()

	// One validator for the whole program: it keeps Entra ID's signing
	// keys fresh in the background until Close.
	v, err := entra.NewValidator(env.Config)
	if err != nil {
		return err
	}
	defer v.Close()

	// Routes under /api/ need a valid token; each Requirement guards one route.
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := entra.ClaimsFromContext(r.Context())
		writeJSON(w, http.StatusOK, claims)
	})
	api.Handle("GET /api/orders", entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}).
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"orders": demo.Orders()})
		})))
	api.Handle("POST /api/orders", entra.RequireScope("Orders.Write").
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := entra.ClaimsFromContext(r.Context())
			writeJSON(w, http.StatusCreated, demo.NewOrder(claims))
		})))
	api.Handle("GET /api/admin", entra.RequireRole("Admin").
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]bool{"admin": true})
		})))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("/api/", entra.Middleware(v)(api))

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return env.Serve(ctx, srv.Serve, srv.Shutdown)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
