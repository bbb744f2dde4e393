package entrafiber_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies keeps other frameworks out of a Fiber user's build: a
// Fiber v3 user's go.sum must never contain Fiber v2, Gin, Echo, an RPC
// library, Redis or OpenTelemetry.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "gofiber/fiber/v2", "gin-gonic", "labstack/echo",
		"google.golang.org/grpc ", "connectrpc.com", "redis", "go.opentelemetry.io")
}
