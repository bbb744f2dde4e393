package entra_test

import (
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// WithSkipPaths compares the escaped path: "/health%2Flive", which ServeMux
// routes to the protected /{id} (its single segment decodes to
// "health/live"), is authenticated, while "/health/live" is skipped.
func TestSkipPathsMatchesTheEscapedPath(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("live")) })
	mux.HandleFunc("GET /{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secret " + r.PathValue("id"))) })
	h := entra.Middleware(v, entra.WithSkipPaths("/health/live", "/a%20b"))(mux)
	if rec := get(t, h, "/health/live", nil); rec.Code != http.StatusOK || rec.Body.String() != "live" {
		t.Errorf("/health/live: %d %q, want 200 live", rec.Code, rec.Body)
	}
	// A path written escaped matches its escaped form.
	if rec := get(t, h, "/a%20b", nil); rec.Code != http.StatusOK || rec.Body.String() != "secret a b" {
		t.Errorf("/a%%20b: %d %q, want it skipped", rec.Code, rec.Body)
	}
	for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live", "/health/live/", "/a%20%62"} {
		rec := get(t, h, p, nil)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"code":"token_missing"`) {
			t.Errorf("%s was not authenticated: %d %q", p, rec.Code, rec.Body)
		}
	}
}

// WithSkipPaths refuses at set-up a path that could never match an escaped
// request path, or would match one it does not name.
func TestSkipPathsPanicsOnUnescapedPaths(t *testing.T) {
	for _, p := range []string{"", "healthz", "/a b", "/x?y=1", "/x?", "/x#y", "http://host/x", "/%zz"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "WithSkipPaths") {
					t.Errorf("WithSkipPaths(%q): panic %v, want one naming WithSkipPaths", p, r)
				}
			}()
			entra.WithSkipPaths(p)
		}()
	}
	for _, p := range []string{"/", "/healthz", "/health/live", "/a%20b", "/health%2Flive"} {
		entra.WithSkipPaths(p) // must not panic
	}
}
