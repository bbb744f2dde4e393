package emulator

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Microsoft Entra Agent ID flows:
//
//  1. the blueprint's client credentials request with fmi_path (the agent
//     identity's client ID) and scope api://AzureADTokenExchange/.default
//     answers T1, a token of the blueprint for that agent;
//  2. the agent identity's client credentials request with T1 as client
//     assertion answers its app-only token (entra.AgentAutonomous) for a
//     resource, or T2 (scope api://AzureADTokenExchange/.default);
//  3. the agent's user_fic request (T1 as client assertion, T2 as
//     user_federated_identity_credential, the agent user's username or
//     user_id) answers a delegated token of its agent user
//     (entra.AgentUserAccount);
//  4. the agent's on-behalf-of request (T1 as client assertion, a user's
//     token for the agent as assertion) answers a delegated token of that
//     user with the agent as caller (entra.AgentOnBehalfOfUser).

func (e *Emulator) agentByID(clientID string) *Agent {
	for _, a := range e.agents {
		if clientID != "" && strings.EqualFold(a.AgentID, clientID) {
			return a
		}
	}
	return nil
}

func (e *Emulator) agentByBlueprint(clientID string) *Agent {
	for _, a := range e.agents {
		if clientID != "" && strings.EqualFold(a.BlueprintClientID, clientID) {
			return a
		}
	}
	return nil
}

func isExchangeScope(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if strings.EqualFold(s, tokenExchangeAud+"/.default") {
			return true
		}
	}
	return false
}

// blueprintGrant answers T1: the blueprint authenticates with its own
// credential and names the agent in fmi_path.
func (e *Emulator) blueprintGrant(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswer, *entratest.TokenError) {
	bp := form.Get("client_id")
	if !isExchangeScope(form.Get("scope")) {
		return nil, badRequest("invalid_scope", 70011, "A request with fmi_path asks for scope %s/.default.", tokenExchangeAud)
	}
	var agent *Agent
	for _, a := range e.agents {
		if strings.EqualFold(a.BlueprintClientID, bp) && strings.EqualFold(a.AgentID, form.Get("fmi_path")) {
			agent = a
		}
	}
	if agent == nil {
		return nil, badRequest("invalid_request", 700016, "The fmi_path '%s' names no agent identity of blueprint '%s' (agents in the emulator's config file).", form.Get("fmi_path"), bp)
	}
	id, acr, err := e.srv.AuthenticateClient(r, form, tenantSeg)
	if err != nil {
		var te *entratest.TokenError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, tokenError(http.StatusUnauthorized, "invalid_client", 7000216, "The blueprint could not be authenticated.")
	}
	if !strings.EqualFold(id, agent.BlueprintClientID) {
		return nil, tokenError(http.StatusUnauthorized, "invalid_client", 7000216, "The credentials name another client than client_id.")
	}
	res := &resource{aud: tokenExchangeAud, version: "2.0"}
	return e.appToken(res, agent.BlueprintClientID, derived(agent.BlueprintClientID, "service principal"), nil, acr,
		map[string]any{"sub": agent.AgentID, "xms_fmi_path": agent.AgentID}), nil
}

// checkAgentAssertion verifies the agent's client assertion: a T1 the
// emulator issued to the agent's blueprint for this agent.
func (e *Emulator) checkAgentAssertion(form url.Values, agent *Agent) *entratest.TokenError {
	if form.Get("client_assertion_type") != clientAssertionTy || form.Get("client_assertion") == "" {
		return tokenError(http.StatusUnauthorized, "invalid_client", 7000216, "An agent identity authenticates with its blueprint's token (T1) as client_assertion, client_assertion_type %s.", clientAssertionTy)
	}
	c, err := e.verifyOwn(form.Get("client_assertion"))
	if err != nil {
		return tokenError(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed validation: %v.", err)
	}
	azp, _ := c["azp"].(string)
	sub, _ := c["sub"].(string)
	if !audienceHas(c["aud"], tokenExchangeAud) || !strings.EqualFold(azp, agent.BlueprintClientID) || !strings.EqualFold(sub, agent.AgentID) {
		return tokenError(http.StatusUnauthorized, "invalid_client", 700021, "The client assertion is not a token of blueprint '%s' for agent '%s' with audience %s.", agent.BlueprintClientID, agent.AgentID, tokenExchangeAud)
	}
	return nil
}

// agentAppGrant answers the agent's app-only token, or T2.
func (e *Emulator) agentAppGrant(form url.Values, agent *Agent) (*tokenAnswer, *entratest.TokenError) {
	if terr := e.checkAgentAssertion(form, agent); terr != nil {
		return nil, terr
	}
	if isExchangeScope(form.Get("scope")) {
		res := &resource{aud: tokenExchangeAud, version: "2.0"}
		return e.appToken(res, agent.AgentID, agent.ObjectID, nil, "2", map[string]any{"xms_par_app_azp": agent.BlueprintClientID}), nil
	}
	res, terr := e.defaultResource(form.Get("scope"))
	if terr != nil {
		return nil, terr
	}
	return e.agentToken(res, agent, entratest.Token{Agent: entra.AgentAutonomous, ObjectID: agent.ObjectID, Roles: agent.Roles}), nil
}

// agentUserGrant answers the agent user's delegated token (user_fic).
func (e *Emulator) agentUserGrant(_ *http.Request, form url.Values) (*tokenAnswer, *entratest.TokenError) {
	agent := e.agentByID(form.Get("client_id"))
	if agent == nil {
		return nil, unknownClient(form.Get("client_id"), e.cfg.TenantID)
	}
	if terr := e.checkAgentAssertion(form, agent); terr != nil {
		return nil, terr
	}
	t2 := form.Get("user_federated_identity_credential")
	if t2 == "" {
		return nil, missing("user_federated_identity_credential")
	}
	c, err := e.verifyOwn(t2)
	azp, _ := c["azp"].(string)
	if err != nil || !audienceHas(c["aud"], tokenExchangeAud) || !strings.EqualFold(azp, agent.AgentID) {
		return nil, badRequest("invalid_grant", 700211, "user_federated_identity_credential is not a token of agent '%s' for %s.", agent.AgentID, tokenExchangeAud)
	}
	who := cmp.Or(form.Get("user_id"), form.Get("username"))
	if !strings.EqualFold(who, agent.UserObjectID) && !strings.EqualFold(who, agent.UserUPN) {
		return nil, badRequest("invalid_grant", 50034, "The user account '%s' is not the agent user of agent '%s'.", who, agent.AgentID)
	}
	res, names, terr := e.resolveScopes(strings.Fields(form.Get("scope")), &App{ClientID: agent.AgentID})
	if terr != nil {
		return nil, terr
	}
	ans := e.agentToken(res, agent, entratest.Token{Agent: entra.AgentUserAccount, ObjectID: agent.UserObjectID,
		PreferredUsername: agent.UserUPN, Name: "Agent " + agent.AgentID[:8], Scopes: names})
	if form.Get("client_info") == "1" {
		ans.ClientInfo = e.clientInfo(&User{ObjectID: agent.UserObjectID})
	}
	ans.Scope = strings.Join(prefixed(res, names), " ")
	return ans, nil
}

// agentOBOGrant answers a delegated token of a user with the agent as
// caller (on-behalf-of).
func (e *Emulator) agentOBOGrant(_ *http.Request, form url.Values) (*tokenAnswer, *entratest.TokenError) {
	agent := e.agentByID(form.Get("client_id"))
	if terr := e.checkAgentAssertion(form, agent); terr != nil {
		return nil, terr
	}
	if form.Get("requested_token_use") != "on_behalf_of" {
		return nil, missing("requested_token_use")
	}
	c, err := e.verifyOwn(form.Get("assertion"))
	if err != nil {
		return nil, badRequest("invalid_grant", 50013, "Assertion failed signature validation: %v.", err)
	}
	if !audienceHas(c["aud"], agent.AgentID) && !audienceHas(c["aud"], "api://"+agent.AgentID) {
		return nil, badRequest("invalid_grant", 50013, "The assertion's audience is not the agent '%s'.", agent.AgentID)
	}
	if idtyp, _ := c["idtyp"].(string); idtyp == "app" {
		return nil, badRequest("invalid_grant", 500133, "The assertion is an app's token: on-behalf-of takes a user's.")
	}
	oid, _ := c["oid"].(string)
	u := e.lookupUser(oid)
	if u == nil {
		return nil, badRequest("invalid_grant", 50034, "The assertion's user is not one of the emulator's users.")
	}
	res, names, terr := e.resolveScopes(strings.Fields(form.Get("scope")), &App{ClientID: agent.AgentID})
	if terr != nil {
		return nil, terr
	}
	ans := e.agentToken(res, agent, entratest.Token{Agent: entra.AgentOnBehalfOfUser, ObjectID: u.ObjectID,
		Name: u.Name, PreferredUsername: u.UPN, Scopes: names, Roles: u.rolesFor(res.clientID)})
	ans.Scope = strings.Join(prefixed(res, names), " ")
	return ans, nil
}

// agentToken mints an agent's token of t's kind for res.
func (e *Emulator) agentToken(res *resource, agent *Agent, t entratest.Token) *tokenAnswer {
	now := e.now()
	t.Version, t.TenantID, t.Audience, t.ClientID = res.version, e.cfg.TenantID, res.aud, agent.AgentID
	t.IssuedAt, t.ExpiresAt = now.Add(-backdate), now.Add(accessLifetime)
	t.Claims = map[string]any{"xms_par_app_azp": agent.BlueprintClientID}
	secs := int(accessLifetime / time.Second)
	return &tokenAnswer{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: e.srv.Mint(t)}
}

// prefixed writes scope names as granted: with the resource as requested.
func prefixed(res *resource, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = res.prefix + n
	}
	return out
}
