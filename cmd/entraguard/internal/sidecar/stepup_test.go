package sidecar

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// TestAuthContextRule: a rule's auth_context answers as the library's
// RequireAuthContext does, byte for byte: the claims challenge for a client
// that declared cp1, a 403 naming the context for any other, 200 once the
// token carries the context.
func TestAuthContextRule(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("rules:\n  - path_prefix: /admin\n    require:\n      auth_context: [c1]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "http://" + startSidecar(t, srv, rules)
	v := newValidator(t, srv)
	guarded := entra.Middleware(v)(entra.RequireAuthContext("c1").Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })))
	middleware := func(auth string) answer {
		req, _ := http.NewRequest("GET", "/admin", nil)
		req.Header.Set("Authorization", auth)
		rec := &recorder{h: http.Header{}}
		guarded.ServeHTTP(rec, req)
		return answer{rec.status, rec.h, rec.body.String()}
	}
	cases := []struct {
		name   string
		token  entratest.Token
		status int
	}{
		{"cp1 client without the context", entratest.Token{Scopes: []string{"Orders.Read"}, ClientCapabilities: []string{"cp1"}}, 401},
		{"client without cp1", entratest.Token{Scopes: []string{"Orders.Read"}}, 403},
		{"token with the context", entratest.Token{Scopes: []string{"Orders.Read"}, AuthContexts: []string{"c1"}, ClientCapabilities: []string{"cp1"}}, 200},
	}
	for _, c := range cases {
		auth := "Bearer " + srv.Mint(c.token)
		got := do(t, "GET", base+"/", map[string][]string{"Authorization": {auth}, "X-Forwarded-Uri": {"/admin"}, "X-Forwarded-Method": {"GET"}}, nil)
		want := middleware(auth)
		if got.status != c.status || want.status != c.status {
			t.Errorf("%s: sidecar %d, middleware %d, want %d", c.name, got.status, want.status, c.status)
		}
		if c.status != 200 && (got.body != want.body || got.header.Get("Www-Authenticate") != want.header.Get("Www-Authenticate")) {
			t.Errorf("%s: sidecar %q %s; middleware %q %s", c.name, got.header.Get("Www-Authenticate"), got.body, want.header.Get("Www-Authenticate"), want.body)
		}
	}
}
