package entragrpc_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies keeps other libraries out of the module's users' builds:
// a gRPC user's go.sum must never contain an HTTP
// framework, Connect, Redis or OpenTelemetry.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "gin-gonic", "labstack/echo", "gofiber", "valyala/fasthttp", "connectrpc.com", "redis", "go.opentelemetry.io")
}
