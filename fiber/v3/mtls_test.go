package entrafiber_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// Tokens bound to a client certificate (entra.WithMTLSBinding) over real
// TLS, served by Fiber itself on a TLS listener: the adapter gives the
// middleware fasthttp's view of the connection.
func TestMTLSBinding(t *testing.T) {
	adaptertest.RunMTLSBindingTests(t, func(t *testing.T, v *entra.Validator, cfg *tls.Config, opts ...entra.Option) string {
		app := contractApp(v, opts...)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		app.Server().MaxIdleWorkerDuration = 10 * time.Millisecond
		done := make(chan error, 1)
		go func() {
			done <- app.Listener(tls.NewListener(ln, cfg), fiber.ListenConfig{DisableStartupMessage: true})
		}()
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
