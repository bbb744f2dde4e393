package entrafiber_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entrafiber "github.com/entraguard/entraguard/fiber"
)

// Tokens bound to a client certificate (entra.WithMTLSBinding) over real
// TLS, served by Fiber itself on a TLS listener: the adapter gives the
// middleware fasthttp's view of the connection.
func TestMTLSBinding(t *testing.T) {
	adaptertest.RunMTLSBindingTests(t, func(t *testing.T, v *entra.Validator, cfg *tls.Config, opts ...entra.Option) string {
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		api := app.Group("/api", entrafiber.Authenticate(v, opts...))
		api.Get("/me", func(c *fiber.Ctx) error {
			claims, _ := entrafiber.Claims(c)
			return writeJSON(c, fiber.StatusOK, claims)
		})
		api.Get("/orders", entrafiber.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}), func(c *fiber.Ctx) error {
			return writeJSON(c, fiber.StatusOK, map[string]any{"orders": []any{}})
		})
		api.Post("/orders", entrafiber.RequireScope("Orders.Write"), func(c *fiber.Ctx) error {
			return writeJSON(c, fiber.StatusCreated, map[string]any{"created": true})
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		app.Server().MaxIdleWorkerDuration = 10 * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- app.Listener(tls.NewListener(ln, cfg)) }()
		t.Cleanup(func() {
			if err := app.Shutdown(); err != nil {
				t.Error(err)
			}
			if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
				t.Error(err)
			}
		})
		return "https://" + ln.Addr().String()
	})
}
