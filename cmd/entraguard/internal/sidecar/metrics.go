package sidecar

import (
	"context"
	"fmt"
	"log/slog"

	entra "github.com/entraguard/entraguard/core"
	entraotel "github.com/entraguard/entraguard/otel"
	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// otelObserver returns the Observer that exports the library's metrics
// (entraotel: validations, cache lookups, refusals, key refreshes) over
// OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, with the exporter's and the
// SDK's standard OTEL_* variables; nil without them. shutdown flushes the
// last figures. OpenTelemetry's own messages (a malformed variable, a
// failed export) go to log, without the values they quote.
func otelObserver(ctx context.Context, getenv func(string) string, log *slog.Logger) (obs entra.Observer, shutdown func(context.Context) error, err error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") == "" {
		return nil, nil, nil
	}
	otel.SetLogger(logr.FromSlogHandler(withoutValues{log.Handler()}))
	exp, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry metrics exporter (OTEL_EXPORTER_OTLP_*): %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	o, err := entraotel.New(entraotel.WithMeterProvider(mp))
	if err != nil {
		_ = mp.Shutdown(ctx)
		return nil, nil, err
	}
	return o, mp.Shutdown, nil
}

// withoutValues is the handler of OpenTelemetry's messages. The exporter
// quotes a malformed OTEL_* variable under "input", "key" or "value"
// (OTEL_EXPORTER_OTLP_HEADERS carries API keys, an endpoint URL may carry
// a password): those values are left out, the message still says which
// setting to fix.
type withoutValues struct{ slog.Handler }

// quoted are the attributes under which OpenTelemetry quotes a setting.
var quoted = map[string]bool{"input": true, "key": true, "value": true}

func redact(a slog.Attr) slog.Attr {
	if quoted[a.Key] {
		return slog.String(a.Key, "(not logged: it may hold a secret)")
	}
	return a
}

func (h withoutValues) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h withoutValues) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redact(a)
	}
	return withoutValues{h.Handler.WithAttrs(out)}
}

func (h withoutValues) WithGroup(name string) slog.Handler {
	return withoutValues{h.Handler.WithGroup(name)}
}
