package entraecho_test

import (
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	entraecho "github.com/entraguard/entraguard/echo"
	"github.com/labstack/echo/v4"
)

// TestAgentGuards checks RequireAgent, DenyAgents and the WithoutAgents
// option against the net/http reference, answer for answer.
func TestAgentGuards(t *testing.T) {
	srv, v := setup(t)
	r := echo.New()
	api := r.Group("/api", entraecho.Authenticate(v))
	api.GET("/agents", ok, entraecho.RequireAgent())
	api.GET("/agent-users", ok, entraecho.RequireAgent(entra.AgentUserAccount))
	api.GET("/humans", ok, entraecho.DenyAgents())
	noAgents := echo.New()
	noAgents.GET("/api/me", ok, entraecho.Authenticate(v, entra.WithoutAgents()))

	okH := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	refs := map[string]http.Handler{
		"/api/agents":      entra.Middleware(v)(entra.RequireAgent().Middleware(okH)),
		"/api/agent-users": entra.Middleware(v)(entra.RequireAgent(entra.AgentUserAccount).Middleware(okH)),
		"/api/humans":      entra.Middleware(v)(entra.DenyAgents().Middleware(okH)),
	}
	refNoAgents := entra.Middleware(v, entra.WithoutAgents())(okH)

	agent, agentUser, human := srv.AgentAppToken("R"), srv.AgentUserToken("S"), srv.UserToken("S")
	tests := []struct {
		h, ref      http.Handler
		path, token string
		want        int
		code        string
	}{
		{r, refs["/api/agents"], "/api/agents", agent, 200, ""},
		{r, refs["/api/agents"], "/api/agents", human, 403, "forbidden"},
		{r, refs["/api/agent-users"], "/api/agent-users", agentUser, 200, ""},
		{r, refs["/api/agent-users"], "/api/agent-users", agent, 403, "forbidden"},
		{r, refs["/api/humans"], "/api/humans", human, 200, ""},
		{r, refs["/api/humans"], "/api/humans", agentUser, 403, "agent_not_allowed"},
		{noAgents, refNoAgents, "/api/me", agent, 403, "agent_not_allowed"},
		{noAgents, refNoAgents, "/api/me", human, 200, ""},
	}
	for _, tc := range tests {
		rec := serve(tc.h, "GET", tc.path, tc.token)
		if rec.Code != tc.want || (tc.code != "" && bodyCode(t, rec) != tc.code) {
			t.Errorf("%s: status %d body %s; want %d %s", tc.path, rec.Code, rec.Body.Bytes(), tc.want, tc.code)
		}
		if tc.want != 200 { // refusals are the core's bytes; successes the framework's
			sameAnswer(t, rec, serve(tc.ref, "GET", tc.path, tc.token))
		}
	}
}
