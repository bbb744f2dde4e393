package entrafiber_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// listen serves app on a loopback port until the test ends and returns its
// base URL and a keep-alive client, so that fasthttp parses real requests
// and reuses its buffers from one request to the next, as in production.
func listen(t *testing.T, app *fiber.App) (string, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// fasthttp's worker-pool cleaner sleeps this long between rounds and
	// notices Shutdown only then (10s by default), after goleak has looked.
	app.Server().MaxIdleWorkerDuration = 10 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String(), &http.Client{Transport: tr}
}

// overTheWire serves app on a loopback port and returns an http.Handler
// that forwards each request to it. adaptor.FiberApp cannot serve the
// conformance table: it copies headers with Header.Set, so a request with
// two Authorization headers reaches Fiber with one.
func overTheWire(t *testing.T, app *fiber.App) http.Handler {
	base, client := listen(t, app)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		if _, err := io.Copy(w, resp.Body); err != nil {
			t.Error(err)
		}
	})
}

// writeJSON answers as the conformance reference does: json.Encoder's
// output (with its trailing newline) and Content-Type application/json.
func writeJSON(c fiber.Ctx, status int, v any) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Status(status)
	return json.NewEncoder(c).Encode(v)
}

// get sends a GET with the given Authorization values through app.Test.
func get(t *testing.T, app *fiber.App, path string, auth ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
