package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

func ExampleClaims_AgentKind() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	ctx := context.Background()
	for _, tok := range []string{
		authority.UserToken("Orders.Read"),
		authority.AgentAppToken("Orders.Read.All"),
		authority.AgentUserToken("Orders.Read"),
		authority.AgentOnBehalfOfToken("Orders.Read"),
	} {
		c, err := v.Validate(ctx, tok)
		if err != nil {
			fmt.Println(entra.CodeOf(err))
			continue
		}
		// AgentBlueprintAppID is for audit logs, never for authorization.
		fmt.Printf("agent=%v kind=%q identity=%s blueprint=%v\n",
			c.IsAgent(), c.AgentKind(), c.IdentityType(), c.AgentBlueprintAppID() == authority.AgentBlueprintID())
	}
	// Output:
	// agent=false kind="" identity=user blueprint=false
	// agent=true kind="agent_identity" identity=app blueprint=true
	// agent=true kind="agent_user" identity=user blueprint=true
	// agent=true kind="agent_on_behalf_of_user" identity=user blueprint=true
}

func ExampleDenyAgents() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	approve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "approved") })
	// Approvals are for people: no agent, whether it acts alone, as its
	// agent user or for a user. entra.WithoutAgents() does it for a whole API.
	h := entra.Middleware(v)(entra.AllOf(entra.RequireUser(), entra.DenyAgents()).Middleware(approve))

	for _, tok := range []string{authority.UserToken("Orders.Approve"), authority.AgentOnBehalfOfToken("Orders.Approve")} {
		req := httptest.NewRequest("POST", "/approve", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 200
	// 403
}
