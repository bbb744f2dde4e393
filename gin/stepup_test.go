package entragin_test

import (
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

// TestRequireAuthContext checks the step-up guard against the net/http
// reference, answer for answer: the claims challenge for a client that
// handles it, a 403 for any other caller.
func TestRequireAuthContext(t *testing.T) {
	srv, v := setup(t)
	r := gin.New()
	api := r.Group("/api", entragin.Authenticate(v))
	api.GET("/approve", entragin.RequireAuthContext("c1"), ok)
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
		rec := serve(r, "GET", "/api/approve", tc.token)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d body %s; want %d", tc.name, rec.Code, rec.Body.Bytes(), tc.want)
			continue
		}
		if tc.want == 200 {
			continue
		}
		ch := rec.Header().Get("WWW-Authenticate")
		if bodyCode(t, rec) != "auth_context_required" || !strings.Contains(ch, tc.challenge) || strings.Contains(ch, "claims=") != (tc.want == 401) {
			t.Errorf("%s: code %s, WWW-Authenticate %q", tc.name, bodyCode(t, rec), ch)
		}
		if tc.want == 401 && !strings.Contains(ch, claims) {
			t.Errorf("%s: WWW-Authenticate %q lacks %s", tc.name, ch, claims)
		}
		sameAnswer(t, rec, serve(ref, "GET", "/api/approve", tc.token))
	}
}
