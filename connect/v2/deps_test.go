package entraconnect_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies keeps other libraries out of the module's users' builds:
// a Connect v2 user's go.sum must never contain an
// HTTP framework, grpc-go, Connect v1, Redis or OpenTelemetry.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "gin-gonic", "labstack/echo", "gofiber", "valyala/fasthttp", "google.golang.org/grpc ", "connectrpc.com/connect v1", "redis", "go.opentelemetry.io")
}
