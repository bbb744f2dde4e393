package entragin_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies checks that a Gin user never downloads another
// framework: this module's go.mod and go.sum must not name one.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "labstack/echo", "gofiber", "valyala/fasthttp")
}
