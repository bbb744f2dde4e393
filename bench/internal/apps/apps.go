// Package apps builds the same tiny API in each framework entraguard
// supports, for the middleware benchmarks and the load test:
//
//	GET /bare       200 "ok\n", no middleware
//	GET /protected  200 "ok\n" behind Authenticate + RequireScope("Orders.Read")
//
// The handler is the same in both routes, so the difference between them is
// what entraguard's middleware costs.
package apps

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"

	entra "github.com/entraguard/entraguard/core"
	entraecho "github.com/entraguard/entraguard/echo"
	entraechov5 "github.com/entraguard/entraguard/echo/v5"
	entrafiber "github.com/entraguard/entraguard/fiber"
	entrafiberv3 "github.com/entraguard/entraguard/fiber/v3"
	entragin "github.com/entraguard/entraguard/gin"
)

// Scope is the delegated scope /protected requires.
const Scope = "Orders.Read"

// Frameworks are the names accepted by [Start], in display order.
var Frameworks = []string{"nethttp", "gin", "echo", "echov5", "fiber", "fiberv3"}

var ok = []byte("ok\n")

// NetHTTP returns a ServeMux with /bare and /protected behind the core's
// net/http middleware.
func NetHTTP(v *entra.Validator) http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(ok)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /bare", h)
	mux.Handle("GET /protected", entra.Middleware(v)(entra.RequireScope(Scope).Middleware(h)))
	return mux
}

// Gin returns a gin.Engine (release mode, no logger or recovery) with
// /bare and /protected behind entragin.
func Gin(v *entra.Validator) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	h := func(c *gin.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", ok) }
	r.GET("/bare", h)
	r.GET("/protected", entragin.Authenticate(v), entragin.RequireScope(Scope), h)
	return r
}

// Echo returns an echo.Echo with /bare and /protected behind entraecho.
func Echo(v *entra.Validator) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	h := func(c echo.Context) error { return c.Blob(http.StatusOK, "text/plain; charset=utf-8", ok) }
	e.GET("/bare", h)
	e.GET("/protected", h, entraecho.Authenticate(v), entraecho.RequireScope(Scope))
	return e
}

// EchoV5 returns an Echo v5 app with /bare and /protected behind the Echo
// v5 entraecho.
func EchoV5(v *entra.Validator) *echov5.Echo {
	e := echov5.New()
	h := func(c *echov5.Context) error { return c.Blob(http.StatusOK, "text/plain; charset=utf-8", ok) }
	e.GET("/bare", h)
	e.GET("/protected", h, entraechov5.Authenticate(v), entraechov5.RequireScope(Scope))
	return e
}

// Fiber returns a fiber.App with /bare and /protected behind entrafiber.
// Its read buffer fits a token of the validator's MaxTokenSize, as the
// docs say to configure it.
func Fiber(v *entra.Validator) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: v.RequestHeaderSize()})
	h := func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
		return c.Send(ok)
	}
	app.Get("/bare", h)
	app.Get("/protected", entrafiber.Authenticate(v), entrafiber.RequireScope(Scope), h)
	return app
}

// FiberV3 returns a Fiber v3 app with /bare and /protected behind the
// Fiber v3 entrafiber, its read buffer sized as for [Fiber].
func FiberV3(v *entra.Validator) *fiberv3.App {
	app := fiberv3.New(fiberv3.Config{ReadBufferSize: v.RequestHeaderSize()})
	h := func(c fiberv3.Ctx) error {
		c.Set(fiberv3.HeaderContentType, "text/plain; charset=utf-8")
		return c.Send(ok)
	}
	app.Get("/bare", h)
	app.Get("/protected", entrafiberv3.Authenticate(v), entrafiberv3.RequireScope(Scope), h)
	return app
}

// ListenConfigV3 is how the benchmarks serve a Fiber v3 app: no banner.
var ListenConfigV3 = fiberv3.ListenConfig{DisableStartupMessage: true}

// Start serves framework's app on a fresh 127.0.0.1 port and returns its
// base URL ("http://127.0.0.1:port") and a function that stops it.
func Start(framework string, v *entra.Validator) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	baseURL = "http://" + ln.Addr().String()
	var h http.Handler
	switch framework {
	case "nethttp":
		h = NetHTTP(v)
	case "gin":
		h = Gin(v)
	case "echo":
		h = Echo(v)
	case "fiber":
		app := Fiber(v)
		done := make(chan struct{})
		go func() { defer close(done); _ = app.Listener(ln) }()
		return baseURL, func() { _ = app.ShutdownWithTimeout(5 * time.Second); <-done }, nil
	case "echov5":
		h = EchoV5(v)
	case "fiberv3":
		app := FiberV3(v)
		done := make(chan struct{})
		go func() { defer close(done); _ = app.Listener(ln, ListenConfigV3) }()
		return baseURL, func() { _ = app.ShutdownWithTimeout(5 * time.Second); <-done }, nil
	default:
		ln.Close()
		return "", nil, errors.New("apps: unknown framework " + framework)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return baseURL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}
