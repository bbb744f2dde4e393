package entraotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraotel "github.com/entraguard/entraguard/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Metrics of a Validator: set the Observer in its Config. In production,
// pass your MeterProvider (or none, for the global one).
func Example() {
	authority := entratest.NewServer() // a local fake Entra ID
	defer authority.Close()

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	obs, err := entraotel.New(entraotel.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}
	defer obs.Close()

	cfg := authority.Config() // entra.ConfigFromEnv() in production
	cfg.Observer = obs
	v, err := entra.NewValidator(cfg)
	if err != nil {
		panic(err)
	}
	defer v.Close()
	if err := v.Ready(context.Background()); err != nil {
		panic(err)
	}

	api := entra.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, auth := range []string{"Bearer " + authority.UserToken("Orders.Read"), "", "Bearer not-a-jwt"} {
		r := httptest.NewRequest("GET", "/api/me", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		api.ServeHTTP(httptest.NewRecorder(), r)
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name != "entra.keys.refreshes" {
			for _, p := range s.DataPoints {
				fmt.Println(m.Name, p.Attributes.Encoded(attributeEncoder), p.Value)
			}
		}
	}
	// Unordered output:
	// entra.token.validations entra.validation.outcome=accepted 1
	// entra.token.validations entra.validation.outcome=refused,error.type=token_malformed 1
	// entra.token.cache.lookups entra.cache.result=miss 2
	// entra.request.refusals entra.refusal.status=401,error.type=token_missing 1
	// entra.request.refusals entra.refusal.status=401,error.type=token_malformed 1
}

var attributeEncoder = attribute.DefaultEncoder()
