// Command otel is the entraguard net/http example with OpenTelemetry: the
// example API (see examples/nethttp) whose Validator reports to entraotel's
// Observer, with the SDK writing metrics and spans to stdout as JSON lines.
// Swap the stdout exporters for your OTLP exporter in production.
//
//	GET  /healthz     no token                                  200 {"status":"ok"}
//	GET  /api/me      any valid token (with scp or roles)       200 the caller
//	GET  /api/orders  scope Orders.Read, or app role Orders.Read.All for apps
//	GET  /api/admin   app role Admin                            200 {"admin":true}
//
// Every request runs in a span; a refusal adds the event "entra.refusal"
// (error.type = the entraguard Code) to it. Metrics are exported every
// METRICS_INTERVAL (default 30s) and at shutdown. Run it with
// ENTRA_TENANT_ID and ENTRA_CLIENT_ID set, or without them for demo mode
// (`go run ./examples/otel`); see examples/internal/demo for the rest.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/examples/internal/demo"
	entraotel "github.com/entraguard/entraguard/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	if err := run(); err != nil {
		slog.Error("otel example stopped", "error", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)

	env := demo.Setup("otel")
	defer env.Close()

	interval := 30 * time.Second
	if s := os.Getenv("METRICS_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return errors.New("METRICS_INTERVAL is not a positive duration such as 30s")
		}
		interval = d
	}
	tel, err := setupTelemetry(os.Stdout, interval)
	if err != nil {
		return err
	}
	defer tel.shutdown()

	env.Config.Observer = tel.observer // before NewValidator: the Config is read once
	v, err := entra.NewValidator(env.Config)
	if err != nil {
		return err
	}
	defer v.Close()

	srv := &http.Server{Handler: handler(v, tel.tracer), ReadHeaderTimeout: 10 * time.Second}
	return env.Serve(ctx, srv.Serve, srv.Shutdown)
}

// telemetry is the OpenTelemetry SDK set-up of the program.
type telemetry struct {
	observer *entraotel.Observer
	tracer   trace.Tracer
	shutdown func() // flushes and stops the exporters
}

// setupTelemetry exports metrics every interval and spans as they end, as
// JSON to w.
func setupTelemetry(w io.Writer, interval time.Duration) (*telemetry, error) {
	mexp, err := stdoutmetric.New(stdoutmetric.WithWriter(w))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(interval))))
	texp, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(texp))
	obs, err := entraotel.New(entraotel.WithMeterProvider(mp))
	if err != nil {
		return nil, err
	}
	return &telemetry{
		observer: obs,
		tracer:   tp.Tracer("github.com/entraguard/entraguard/examples/otel"),
		shutdown: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = mp.Shutdown(ctx) // a last export, gauges included
			_ = obs.Close()
			_ = tp.Shutdown(ctx)
		},
	}, nil
}

// handler is the API, each request in a span started before entraguard's
// middleware, so that refusals are recorded on it.
func handler(v *entra.Validator, tracer trace.Tracer) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := entra.ClaimsFromContext(r.Context())
		writeJSON(w, http.StatusOK, claims)
	})
	api.Handle("GET /api/orders", entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}).
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"orders": demo.Orders()})
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Use otelhttp.NewHandler in a real program; a bare span keeps
		// this example's dependencies to the SDK.
		ctx, span := tracer.Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
