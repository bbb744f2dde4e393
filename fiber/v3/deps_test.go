package entrafiber_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestDependencies keeps other frameworks out of a Fiber user's build: a
// Fiber v3 user's go.sum must never contain Fiber v2, Gin or Echo.
func TestDependencies(t *testing.T) {
	adaptertest.AssertModuleOmits(t, "gofiber/fiber/v2", "gin-gonic", "labstack/echo")
}
