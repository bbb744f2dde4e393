package entrafiber_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/gofiber/fiber/v3"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entrafiber "github.com/entraguard/entraguard/fiber/v3"
)

// bigToken mints a token of a user in 150 groups: about 8 KB, as Entra ID
// issues them below its 200-group overage limit.
func bigToken(t *testing.T, srv *entratest.Server) string {
	t.Helper()
	groups := make([]string, 150)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08x-1111-2222-3333-%012x", i, i)
	}
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Groups: groups})
	if len(tok) < 7500 {
		t.Fatalf("a 150-group token of %d bytes: the test needs one of about 8 KB", len(tok))
	}
	return tok
}

func getOver(t *testing.T, client *http.Client, url, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	return resp.StatusCode
}

// TestLargeToken checks that an app configured as the docs say
// (ReadBufferSize: v.RequestHeaderSize()) serves a 150-group token, and
// that the middleware says, once and with the value to set, when an app
// keeps Fiber's 4096-byte default, which refuses that token with 431
// before any handler runs.
func TestLargeToken(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	tok := bigToken(t, srv)
	fix := fmt.Sprintf("set fiber.Config.ReadBufferSize to %d or more", 16<<10+len("Authorization: Bearer \r\n")+8<<10)

	t.Run("configured as documented", func(t *testing.T) {
		var logs adaptertest.LogBuffer
		v := adaptertest.NewReadyValidator(t, srv, adaptertest.LogTo(&logs))
		app := fiber.New(fiber.Config{ReadBufferSize: v.RequestHeaderSize()})
		app.Get("/api/me", entrafiber.Authenticate(v), ok)
		base, client := listen(t, app)
		for range 2 {
			if got := getOver(t, client, base+"/api/me", tok); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
		}
		if strings.Contains(logs.String(), "ReadBufferSize") {
			t.Errorf("a warning with a large enough buffer: %s", logs.String())
		}
	})

	t.Run("Fiber's default", func(t *testing.T) {
		var logs adaptertest.LogBuffer
		v := adaptertest.NewReadyValidator(t, srv, adaptertest.LogTo(&logs))
		app := newApp()
		app.Get("/api/me", entrafiber.Authenticate(v), ok)
		base, client := listen(t, app)
		// fasthttp answers 431 and closes the connection, at times before
		// the client has sent the whole head: the client then sees its
		// write fail instead of the answer. Either way it is refused.
		req, err := http.NewRequest("GET", base+"/api/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if resp, err := client.Do(req); err == nil {
			body(t, resp)
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("a 150-group token under the default buffer: status %d, want 431 (has Fiber's default changed?)", resp.StatusCode)
			}
		} else if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a 150-group token under the default buffer: %v, want 431 or the connection closed", err)
		}
		small := srv.UserToken("Orders.Read")
		for range 3 {
			if got := getOver(t, client, base+"/api/me", small); got != http.StatusOK {
				t.Fatalf("a small token: status %d, want 200", got)
			}
		}
		if n := strings.Count(logs.String(), fix); n != 1 {
			t.Errorf("the log says %q %d times, want once:\n%s", fix, n, logs.String())
		}
		if !strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), small) {
			t.Errorf("want one WARN line without the token:\n%s", logs.String())
		}
	})

	// Without Config.Logger, the validator's logger is slog.Default: the
	// warning goes there (it used to be dropped).
	t.Run("Fiber's default, no Config.Logger", func(t *testing.T) {
		var logs adaptertest.LogBuffer
		prev := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
		t.Cleanup(func() { slog.SetDefault(prev) })
		v, err := entra.NewValidator(srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		if err := v.Ready(t.Context()); err != nil {
			t.Fatal(err)
		}
		app := newApp()
		app.Get("/api/me", entrafiber.Authenticate(v), ok)
		base, client := listen(t, app)
		small := srv.UserToken("Orders.Read")
		for range 2 {
			if got := getOver(t, client, base+"/api/me", small); got != http.StatusOK {
				t.Fatalf("a small token: status %d, want 200", got)
			}
		}
		if n := strings.Count(logs.String(), fix); n != 1 {
			t.Errorf("slog.Default says %q %d times, want once:\n%s", fix, n, logs.String())
		}
	})
}
