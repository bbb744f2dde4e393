package entragin_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies checks that a Gin user never downloads another
// framework, an RPC library, Redis or OpenTelemetry: this module's go.mod
// and go.sum must not name one.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "labstack/echo", "gofiber", "valyala/fasthttp",
		"google.golang.org/grpc ", "connectrpc.com", "redis", "go.opentelemetry.io")
}
