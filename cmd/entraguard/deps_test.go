package main

import (
	"os"
	"strings"
	"testing"
)

// TestDependencies checks that installing the CLI downloads no framework
// and no client library: it depends on core (and entratest) and the
// emulator module (the emulator command), plus what
// the sidecar serves with: a YAML parser for its rules file, gRPC with
// Envoy's ext_authz types (go-control-plane) for Envoy, OpenTelemetry
// (the otel module and an OTLP exporter) for its metrics, and go-redis
// (through the redis module) for revocations shared with the library's
// replicas.
func TestDependencies(t *testing.T) {
	for _, file := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(file)
		if os.IsNotExist(err) && file == "go.sum" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"gin-gonic", "labstack/echo", "gofiber", "valyala/fasthttp", "microsoft-authentication-library-for-go", "azure-sdk-for-go"} {
			if strings.Contains(string(b), other) {
				t.Errorf("%s mentions %s", file, other)
			}
		}
	}
}
