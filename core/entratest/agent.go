package entratest

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	entra "github.com/entraguard/entraguard/core"
)

// Microsoft Entra Agent ID tokens, shaped as in Microsoft's "Token claims
// reference for agent IDs" (its sample token and scenario tables):
//
//   - [entra.AgentAutonomous]: the agent identity on its own, app-only:
//     idtyp "app", azp/appid the agent identity, oid and sub its service
//     principal, appidacr/azpacr "2", xms_act_fct "3 9 11",
//     xms_sub_fct "9 3 11", xms_tnt_fct "3 9", xms_idrel "7 10", xms_ftd,
//     xms_par_app_azp the blueprint; roles when Roles is set, and no scp
//     (set Claims["scp"] to "" or "/" for the "unscoped" forms Microsoft
//     also documents);
//   - [entra.AgentUserAccount]: the agent through its agent user account:
//     idtyp "user", oid the agent user, xms_act_fct "11", xms_sub_fct "13",
//     xms_idrel "1", xms_par_app_azp; scp when Scopes is set;
//   - [entra.AgentOnBehalfOfUser]: the agent for the server's (human)
//     user: idtyp "user", oid the user, xms_act_fct "11", xms_idrel "1",
//     xms_par_app_azp; scp when Scopes is set.

// AgentBlueprintID returns the application ID of the fake agent identity
// blueprint: the xms_par_app_azp of minted agent tokens. It is derived from
// TenantID and ClientID, so it is stable for a server.
func (s *Server) AgentBlueprintID() string { return s.derivedGUID("agent blueprint") }

// AgentID returns the application (client) ID of the fake agent identity:
// the azp (v2.0) or appid (v1.0) of minted agent tokens.
func (s *Server) AgentID() string { return s.derivedGUID("agent identity") }

// AgentObjectID returns the object ID of the fake agent identity's service
// principal: the oid and sub of autonomous agent tokens.
func (s *Server) AgentObjectID() string { return s.derivedGUID("agent identity object") }

// AgentUserObjectID returns the object ID of the fake agent's user account:
// the oid of agent-user tokens.
func (s *Server) AgentUserObjectID() string { return s.derivedGUID("agent user object") }

// AgentUserPrincipalName is the sign-in name of the agent user of minted
// agent-user tokens.
const AgentUserPrincipalName = "contoso-agent@contoso.onmicrosoft.com"

// AgentAppToken returns a v2.0 token of the agent identity acting on its
// own (app-only), with these app roles: Mint of
// Token{Agent: entra.AgentAutonomous, Roles: roles}.
func (s *Server) AgentAppToken(roles ...string) string {
	return s.Mint(Token{Agent: entra.AgentAutonomous, Roles: roles})
}

// AgentUserToken returns a v2.0 delegated token of the agent acting through
// its agent user account, with these scopes: Mint of
// Token{Agent: entra.AgentUserAccount, Scopes: scopes}.
func (s *Server) AgentUserToken(scopes ...string) string {
	return s.Mint(Token{Agent: entra.AgentUserAccount, Scopes: scopes})
}

// AgentOnBehalfOfToken returns a v2.0 delegated token of the agent acting
// for the server's user, with these scopes: Mint of
// Token{Agent: entra.AgentOnBehalfOfUser, Scopes: scopes}.
func (s *Server) AgentOnBehalfOfToken(scopes ...string) string {
	return s.Mint(Token{Agent: entra.AgentOnBehalfOfUser, Scopes: scopes})
}

// derivedGUID returns a GUID derived from the server's tenant and client
// IDs and label.
func (s *Server) derivedGUID(label string) string {
	b := sha256.Sum256([]byte(s.TenantID + "\x00" + s.ClientID + "\x00" + label))
	b[6] = b[6]&0x0f | 0x40 // version 4, variant 10, as random GUIDs
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// agentDefaults fills the fields of an agent token that Mint defaults
// otherwise. It panics on an unknown kind.
func (s *Server) agentDefaults(t Token) Token {
	switch t.Agent {
	case entra.AgentNone:
		return t
	case entra.AgentAutonomous:
		t.App = true
		t.ObjectID = cmp.Or(t.ObjectID, s.AgentObjectID())
	case entra.AgentUserAccount:
		t.App = false
		t.ObjectID = cmp.Or(t.ObjectID, s.AgentUserObjectID())
		t.Name = cmp.Or(t.Name, "Contoso Agent")
		t.PreferredUsername = cmp.Or(t.PreferredUsername, AgentUserPrincipalName)
	case entra.AgentOnBehalfOfUser:
		t.App = false
	default:
		panic(fmt.Sprintf("entratest: Token.Agent %q: use entra.AgentAutonomous, entra.AgentUserAccount or entra.AgentOnBehalfOfUser", t.Agent))
	}
	t.ClientID = cmp.Or(t.ClientID, s.AgentID())
	return t
}

// addAgentClaims adds the Agent ID claims of t's kind to c.
func (s *Server) addAgentClaims(t Token, v1 bool, c map[string]any) {
	if t.Agent == entra.AgentNone {
		return
	}
	c["xms_par_app_azp"] = s.AgentBlueprintID()
	c["xms_ftd"] = base64.RawURLEncoding.EncodeToString(randBytes(32))
	switch t.Agent {
	case entra.AgentAutonomous:
		c["xms_act_fct"] = "3 9 11"
		c["xms_sub_fct"] = "9 3 11"
		c["xms_tnt_fct"] = "3 9"
		c["xms_idrel"] = "7 10"
		if v1 {
			c["appidacr"] = "2"
		} else {
			c["azpacr"] = "2"
		}
	case entra.AgentUserAccount:
		c["idtyp"] = "user"
		c["xms_act_fct"] = "11"
		c["xms_sub_fct"] = "13"
		c["xms_idrel"] = "1"
	case entra.AgentOnBehalfOfUser:
		c["idtyp"] = "user"
		c["xms_act_fct"] = "11"
		c["xms_idrel"] = "1"
	}
}
