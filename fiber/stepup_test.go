package entrafiber_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entrafiber "github.com/entraguard/entraguard/fiber"
)

// TestRequireAuthContext checks the step-up guard, refusals against the
// net/http reference byte for byte: the claims challenge for a client that
// handles it, a 403 for any other caller.
func TestRequireAuthContext(t *testing.T) {
	srv, v := authority(t)
	a := newApp()
	api := a.Group("/api", entrafiber.Authenticate(v))
	api.Get("/approve", entrafiber.RequireAuthContext("c1"), ok)
	okH := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	ref := entra.Middleware(v)(entra.RequireAuthContext("c1").Middleware(okH))
	stepped := srv.Mint(entratest.Token{Scopes: []string{"S"}, AuthContexts: []string{"c1"}, ClientCapabilities: []string{"cp1"}})
	capable := srv.Mint(entratest.Token{Scopes: []string{"S"}, ClientCapabilities: []string{"cp1"}})
	plain := srv.Mint(entratest.Token{Scopes: []string{"S"}, AuthContexts: []string{"c2"}})
	app := srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, ClientCapabilities: []string{"cp1"}})
	const claims = `claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`
	tests := []struct {
		name, token string
		want        int
		challenge   string // in WWW-Authenticate
	}{
		{"stepped up", stepped, 200, ""},
		{"cp1 client", capable, 401, `error="insufficient_claims"`},
		{"other client", plain, 403, `error="insufficient_scope"`},
		{"app-only", app, 403, `error="insufficient_scope"`},
	}
	for _, tc := range tests {
		resp := get(t, a, "/api/approve", "Bearer "+tc.token)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
			continue
		}
		if tc.want == 200 {
			continue
		}
		ch := resp.Header.Get("WWW-Authenticate")
		if !strings.Contains(ch, tc.challenge) || strings.Contains(ch, claims) != (tc.want == 401) {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, ch)
		}
		want := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/approve", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		ref.ServeHTTP(want, req)
		if !strings.Contains(want.Body.String(), `"code":"auth_context_required"`) {
			t.Errorf("%s: reference body %s", tc.name, want.Body.String())
		}
		sameRefusal(t, resp, want)
	}
}
