package sidecar

import (
	"context"
	"fmt"

	entra "github.com/entraguard/entraguard/core"
	entraotel "github.com/entraguard/entraguard/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// otelObserver returns the Observer that exports the library's metrics
// (entraotel: validations, cache lookups, refusals, key refreshes) over
// OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, with the exporter's and the
// SDK's standard OTEL_* variables; nil without them. shutdown flushes the
// last figures.
func otelObserver(ctx context.Context, getenv func(string) string) (obs entra.Observer, shutdown func(context.Context) error, err error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") == "" {
		return nil, nil, nil
	}
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
