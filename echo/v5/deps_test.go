package entraecho_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies checks that an Echo v5 user never downloads Echo v4 or
// another framework, an RPC library, Redis or OpenTelemetry: this module's go.mod
// and go.sum must not name one.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "labstack/echo/v4", "gin-gonic", "gofiber", "valyala/fasthttp",
		"google.golang.org/grpc ", "connectrpc.com", "redis", "go.opentelemetry.io")
}
