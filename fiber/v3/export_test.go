package entrafiber

import (
	"github.com/gofiber/fiber/v3"

	entra "github.com/entraguard/entraguard/core"
)

// NewRequest exposes the adapter's entra.Request to the external tests, which
// check that the values it hands to the core outlive fasthttp's buffers.
func NewRequest(c fiber.Ctx) entra.Request { return newRequest(c) }
