package entrafiber_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entrafiber "github.com/entraguard/entraguard/fiber"
)

// TestAgentGuards checks RequireAgent, DenyAgents and the WithoutAgents
// option, refusals against the net/http reference byte for byte.
func TestAgentGuards(t *testing.T) {
	srv, v := authority(t)
	app := newApp()
	api := app.Group("/api", entrafiber.Authenticate(v))
	api.Get("/agents", entrafiber.RequireAgent(), ok)
	api.Get("/agent-users", entrafiber.RequireAgent(entra.AgentUserAccount), ok)
	api.Get("/humans", entrafiber.DenyAgents(), ok)
	noAgents := newApp()
	noAgents.Get("/api/me", entrafiber.Authenticate(v, entra.WithoutAgents()), ok)

	okH := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	refs := map[string]http.Handler{
		"/api/agents":      entra.Middleware(v)(entra.RequireAgent().Middleware(okH)),
		"/api/agent-users": entra.Middleware(v)(entra.RequireAgent(entra.AgentUserAccount).Middleware(okH)),
		"/api/humans":      entra.Middleware(v)(entra.DenyAgents().Middleware(okH)),
		"/api/me":          entra.Middleware(v, entra.WithoutAgents())(okH),
	}
	agent, agentUser, human := srv.AgentAppToken("R"), srv.AgentUserToken("S"), srv.UserToken("S")
	tests := []struct {
		refuseAll   bool
		path, token string
		want        int
	}{
		{false, "/api/agents", agent, 200},
		{false, "/api/agents", human, 403},
		{false, "/api/agent-users", agentUser, 200},
		{false, "/api/agent-users", agent, 403},
		{false, "/api/humans", human, 200},
		{false, "/api/humans", agentUser, 403},
		{true, "/api/me", agent, 403},
		{true, "/api/me", human, 200},
	}
	for _, tc := range tests {
		a := app
		if tc.refuseAll {
			a = noAgents
		}
		resp := get(t, a, tc.path, "Bearer "+tc.token)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.want)
			continue
		}
		if tc.want != 200 {
			want := httptest.NewRecorder()
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			refs[tc.path].ServeHTTP(want, req)
			sameRefusal(t, resp, want)
		}
	}
}
