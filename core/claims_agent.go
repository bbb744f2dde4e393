package entra

import (
	"errors"
	"slices"
	"strings"

	"github.com/entraguard/entraguard/core/internal/guid"
	"github.com/entraguard/entraguard/core/internal/jose"
)

// This file reads the claims of Microsoft Entra Agent ID tokens
// ("Token claims reference for agent IDs", Microsoft Learn, 2025-11, and
// "Validate agent identity tokens in a downstream API", 2026-04):
//
//   - xms_act_fct, xms_sub_fct, xms_tnt_fct: facets of the actor (azp or
//     appid), of the subject (sub) and of the tenant (tid), space-separated
//     odd integers (11 AgentIdentity, 13 AgentIDUser, ...);
//   - xms_idrel: the relationship of the subject to the resource tenant
//     (1 member user, 5 guest, 7 service principal, ...);
//   - xms_par_app_azp: the agent identity blueprint (parent application) of
//     the agent, a GUID, "for auditing, not for authorization";
//
// and, for Azure AD B2C, the user flow (tfp or acr), and the legacy tenant
// claim of WS-Federation-era tokens.

// Facet is a value of the facet claims xms_act_fct (the actor: the calling
// application), xms_sub_fct (the subject) and xms_tnt_fct (the tenant).
// Microsoft documents the values below; real tokens carry others (even
// numbers too: "1 9", "9 3", "10 3") which are kept as they are and never
// make a token invalid: ignore those you do not know, and assume no order.
type Facet int

// Facet values documented by Microsoft.
const (
	FacetAgentIdentity                           Facet = 11 // an agent identity
	FacetAgentUser                               Facet = 13 // an agent's user account (AgentIDUser)
	FacetAgenticAppBuilder                       Facet = 15
	FacetServicePrincipalRequiredByAppOnlyClient Facet = 17
)

// IdentityRelation is a value of the xms_idrel claim: how the token's
// subject relates to the resource tenant. Real tokens carry values beyond
// the documented ones ("14 7", "8 7", "7 26"); they are kept as they are,
// in no meaningful order.
type IdentityRelation int

// IdentityRelation values documented by Microsoft.
const (
	RelationMemberUser               IdentityRelation = 1
	RelationMSAMemberUser            IdentityRelation = 3
	RelationGuestUser                IdentityRelation = 5
	RelationServicePrincipal         IdentityRelation = 7
	RelationDevicePrincipal          IdentityRelation = 9
	RelationGDAPUser                 IdentityRelation = 11
	RelationSPLessApplication        IdentityRelation = 13
	RelationPassthrough              IdentityRelation = 15
	RelationNativeUserWithProfile    IdentityRelation = 17
	RelationNativeUser               IdentityRelation = 19
	RelationNativeMeetingParticipant IdentityRelation = 21
	RelationPassthroughMeetingUser   IdentityRelation = 23
	RelationNativeContentSharingUser IdentityRelation = 25
	RelationFullySyncedMTOMember     IdentityRelation = 27
	RelationWeakMTOUser              IdentityRelation = 29
	RelationDAPUser                  IdentityRelation = 31
	RelationFederatedManagedIdentity IdentityRelation = 33
)

// AgentKind tells the three ways a Microsoft Entra Agent ID agent calls an
// API apart; see [Claims.AgentKind].
type AgentKind string

// Agent kinds. AgentNone is every token not issued to an agent.
const (
	AgentNone AgentKind = ""
	// AgentAutonomous: an agent identity acting on its own (app-only; idtyp
	// app, roles, no scope): xms_act_fct and xms_sub_fct carry 11.
	AgentAutonomous AgentKind = "agent_identity"
	// AgentUserAccount: an agent acting autonomously through its own agent
	// user account (delegated; the oid is the agent user's): xms_act_fct 11
	// and xms_sub_fct 13.
	AgentUserAccount AgentKind = "agent_user"
	// AgentOnBehalfOfUser: an agent acting for a human user (delegated; the
	// oid is the human's): xms_act_fct 11, and the subject no agent.
	AgentOnBehalfOfUser AgentKind = "agent_on_behalf_of_user"
	// AgentUnspecified: a delegated token that names an agent blueprint
	// (xms_par_app_azp) but carries neither xms_act_fct nor xms_sub_fct,
	// as Entra issues them for an API whose app registration does not
	// request those optional claims ([AgentClaimsHint]). An agent acting
	// for a human and an agent's own user account cannot be told apart
	// then, so [RequireAgent] with kinds refuses it unless AgentUnspecified
	// is one of them.
	AgentUnspecified AgentKind = "agent_unspecified"
)

// AgentClaimsHint says how to get the claims that tell agents apart into
// an API's tokens. Entra leaves them out of tokens for custom APIs unless
// the API asks; tools that explain a token (the entraguard CLI's explain)
// print it when [Claims.HasAgentClaims] is false.
const AgentClaimsHint = "Entra puts the Agent ID claims in an API's tokens only when asked: in the API's app registration, Token configuration > Add optional claim > Access, add xms_act_fct, xms_sub_fct, xms_tnt_fct, xms_par_app_azp and xms_idrel (or list them under optionalClaims.accessToken in the manifest); without them an agent's token reads as a classic app's or user's (docs/authorization.md#when-the-facets-are-missing)"

// legacyTenantClaim is the tenant claim type of WS-Federation and of
// .NET's inbound claim map; Microsoft.IdentityModel reads it when a token
// has no tid.
const legacyTenantClaim = "http://schemas.microsoft.com/identity/claims/tenantid"

// maxFacets bounds the values of one facet claim: Entra sends a handful.
const maxFacets = 64

// claimsExt holds the claims of this file.
type claimsExt struct {
	actFct, subFct, tntFct []Facet
	idrel                  []IdentityRelation
	parApp                 string // xms_par_app_azp
	tfp, acr               string
	legacyTenant           string
	hasLegacyTenant        bool
	hasTid                 bool
}

// parse reads the claim name if it is one of this file's, and reports
// whether it was.
func (x *claimsExt) parse(r *jose.Reader, name string) (bool, error) {
	var err error
	switch name {
	case "xms_act_fct":
		x.actFct, err = facetList[Facet](r)
	case "xms_sub_fct":
		x.subFct, err = facetList[Facet](r)
	case "xms_tnt_fct":
		x.tntFct, err = facetList[Facet](r)
	case "xms_idrel":
		x.idrel, err = facetList[IdentityRelation](r)
	case "xms_par_app_azp":
		x.parApp, err = r.Str()
	case "tfp":
		x.tfp, err = r.Str()
	case "acr":
		x.acr, err = r.Str()
	case legacyTenantClaim:
		x.legacyTenant, err = r.Str()
		x.hasLegacyTenant = true
	default:
		return false, nil
	}
	return true, err
}

// errFacet is the error of a facet claim that is not a string of
// space-separated non-negative integers.
var errFacet = errors.New("not a list of space-separated integers")

// maxFacetDigits bounds one facet value: up to 999,999,999, far beyond
// any value Entra uses, so that no unknown value is refused while the
// number cannot overflow.
const maxFacetDigits = 9

// facetList reads a string of non-negative decimal integers separated by
// spaces (U+0020; runs of spaces and leading or trailing ones are
// allowed). Any value is kept, known or not, in its order. Anything else
// (a sign, a letter, a tab or other separator, more than nine digits, more
// than maxFacets values, a JSON number or array instead of the string) is
// refused: a token whose facets cannot be read cannot be told to be an
// agent's or not.
func facetList[T ~int](r *jose.Reader) ([]T, error) {
	s, err := r.Str()
	if err != nil {
		return nil, err
	}
	var out []T
	for f := range strings.SplitSeq(s, " ") {
		if f == "" {
			continue
		}
		if len(f) > maxFacetDigits || len(out) == maxFacets {
			return nil, errFacet
		}
		n := 0
		for i := 0; i < len(f); i++ {
			if f[i] < '0' || f[i] > '9' {
				return nil, errFacet
			}
			n = n*10 + int(f[i]-'0')
		}
		out = append(out, T(n))
	}
	return out, nil
}

// scopeFields splits scp at spaces, leaving out the "/" of app-only agent
// tokens, which Microsoft documents as "unscoped": no delegated scope.
func scopeFields(scp string) []string {
	f := fields(scp)
	if slices.Contains(f, "/") {
		f = slices.DeleteFunc(f, func(s string) bool { return s == "/" })
		if len(f) == 0 {
			return nil
		}
	}
	return f
}

// appSubject reports whether Entra says the subject is an application: an
// agent identity (xms_sub_fct 11) or a service principal (xms_idrel 7).
func (x *claimsExt) appSubject() bool {
	return slices.Contains(x.subFct, FacetAgentIdentity) || slices.Contains(x.idrel, RelationServicePrincipal)
}

// ActorFacets returns the xms_act_fct claim: facets of the calling
// application (azp or appid). It contains [FacetAgentIdentity] when the
// caller is an agent. Nil when absent, and on a nil *Claims.
func (c *Claims) ActorFacets() []Facet {
	if c == nil {
		return nil
	}
	return slices.Clone(c.ext.actFct)
}

// SubjectFacets returns the xms_sub_fct claim: facets of the subject (sub).
// It contains [FacetAgentIdentity] for an agent acting on its own and
// [FacetAgentUser] for an agent's user account. Nil when absent, and on a
// nil *Claims.
func (c *Claims) SubjectFacets() []Facet {
	if c == nil {
		return nil
	}
	return slices.Clone(c.ext.subFct)
}

// TenantFacets returns the xms_tnt_fct claim: facets of the tenant (tid).
// Nil when absent, and on a nil *Claims.
func (c *Claims) TenantFacets() []Facet {
	if c == nil {
		return nil
	}
	return slices.Clone(c.ext.tntFct)
}

// IdentityRelations returns the xms_idrel claim: how the subject relates to
// the resource tenant (e.g. [RelationMemberUser], [RelationGuestUser],
// [RelationServicePrincipal]). Nil when absent, and on a nil *Claims.
func (c *Claims) IdentityRelations() []IdentityRelation {
	if c == nil {
		return nil
	}
	return slices.Clone(c.ext.idrel)
}

// IsAgent reports whether the token was issued to a Microsoft Entra Agent
// ID agent, acting on its own, through its agent user account, or for a
// user: its actor or subject facets name an agent identity or an agent user
// (xms_act_fct or xms_sub_fct 11, xms_sub_fct 13), or it names the agent's
// blueprint (xms_par_app_azp, which Microsoft calls the agent identity
// marker). Other facet values, known or not, and their order change
// nothing. It is false on a nil *Claims.
//
// IsAgent concludes from what the token carries. Entra leaves the facets
// (and often xms_par_app_azp) out of tokens for a custom API unless its
// app registration requests them as optional claims ([AgentClaimsHint]).
// A token with none of them ([Claims.HasAgentClaims] false) may be an
// agent's all the same: false then means "not known to be an agent", and
// [DenyAgents] and [WithoutAgents] cannot refuse it. An API that must tell
// agents apart requests the optional claims.
func (c *Claims) IsAgent() bool {
	if c == nil {
		return false
	}
	x := &c.ext
	return x.parApp != "" ||
		slices.Contains(x.actFct, FacetAgentIdentity) ||
		slices.Contains(x.subFct, FacetAgentIdentity) ||
		slices.Contains(x.subFct, FacetAgentUser)
}

// AgentKind tells how an agent calls: [AgentAutonomous] (app-only, as
// itself), [AgentUserAccount] (as its own agent user) or
// [AgentOnBehalfOfUser] (for a human user); [AgentUnspecified] for a
// delegated token that names a blueprint but carries no facets, which
// cannot tell the last two apart; [AgentNone] when the token is not known
// to be an agent's (see [Claims.IsAgent]) and on a nil *Claims.
func (c *Claims) AgentKind() AgentKind {
	if !c.IsAgent() {
		return AgentNone
	}
	switch {
	case slices.Contains(c.ext.subFct, FacetAgentUser):
		return AgentUserAccount
	case slices.Contains(c.ext.subFct, FacetAgentIdentity), c.IsApp():
		return AgentAutonomous
	case len(c.ext.actFct) == 0 && len(c.ext.subFct) == 0:
		return AgentUnspecified
	}
	return AgentOnBehalfOfUser
}

// HasAgentClaims reports whether the token carries any of the claims that
// tell agents apart: xms_act_fct or xms_sub_fct with a value, or
// xms_par_app_azp. When it is false, [Claims.IsAgent] is false but proves
// nothing: the API's app registration may not request those optional
// claims ([AgentClaimsHint]). It is false on a nil *Claims.
func (c *Claims) HasAgentClaims() bool {
	if c == nil {
		return false
	}
	return len(c.ext.actFct) > 0 || len(c.ext.subFct) > 0 || c.ext.parApp != ""
}

// IsAgentUser reports whether the subject is an agent's user account
// (xms_sub_fct 13): a user object that belongs to an agent, not a person.
// It is false on a nil *Claims.
func (c *Claims) IsAgentUser() bool {
	return c.AgentKind() == AgentUserAccount
}

// AgentBlueprintAppID returns the xms_par_app_azp claim: the application ID
// of the agent identity blueprint that created the calling agent, or "" when
// absent (and on a nil *Claims).
//
// Microsoft's guidance: log it for auditing (Entra's sign-in logs carry it);
// do not authorize on it, because one blueprint parents many agents, so a
// rule on it lets all of them in. Authorize the agent itself
// ([Claims.AppID], [RequireApp]) or its roles and scopes.
func (c *Claims) AgentBlueprintAppID() string {
	if c == nil {
		return ""
	}
	return c.ext.parApp
}

// agentLogID is the blueprint ID for log lines: only a GUID, as Entra
// sends it.
func (c *Claims) agentLogID() string {
	if c == nil || !guid.Is(c.ext.parApp) {
		return ""
	}
	return c.ext.parApp
}

// UserFlow returns the Azure AD B2C user flow (policy) that issued the
// token: the tfp claim, else the acr claim when it names a policy
// ("B2C_1_..." or "B2C_1A_..."; Entra ID's own acr is "0" or "1"). It is ""
// for Entra ID tokens and on a nil *Claims.
func (c *Claims) UserFlow() string {
	if c == nil {
		return ""
	}
	if c.ext.tfp != "" {
		return c.ext.tfp
	}
	if isPolicyName(c.ext.acr) {
		return c.ext.acr
	}
	return ""
}

// isPolicyName reports whether s has the prefix of B2C policy names:
// B2C_1_ for user flows and B2C_1A_ for custom policies, in any case.
func isPolicyName(s string) bool {
	return len(s) > 6 && strings.EqualFold(s[:6], "b2c_1_") || len(s) > 7 && strings.EqualFold(s[:7], "b2c_1a_")
}

// RequireAgent requires a Microsoft Entra Agent ID agent ([Claims.IsAgent]);
// with kinds, one of those kinds ([Claims.AgentKind]): an agent whose token
// does not say its kind ([AgentUnspecified]) meets it only if that is one
// of kinds. Panics at set-up on AgentNone or an unknown kind.
func RequireAgent(kinds ...AgentKind) Requirement {
	for _, k := range kinds {
		switch k {
		case AgentAutonomous, AgentUserAccount, AgentOnBehalfOfUser, AgentUnspecified:
		default:
			panic("entra: RequireAgent was given an unknown agent kind " + quote(string(k)))
		}
	}
	kinds = slices.Clone(kinds)
	r := Requirement{desc: "an agent (Microsoft Entra Agent ID)"}
	if len(kinds) > 0 {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		r.desc = describe("agent kind", false, names)
	}
	r.check = func(c *Claims) *Error {
		k := c.AgentKind()
		if k != AgentNone && (len(kinds) == 0 || slices.Contains(kinds, k)) {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// agentDenied is the refusal of an agent by [DenyAgents] and
// [WithoutAgents]: a new value each time, since Check hands it to callers.
func agentDenied() *Error {
	return &Error{Code: CodeAgentNotAllowed, Description: "agents (Microsoft Entra Agent ID) may not call this API: the token was issued to an agent, acting on its own, as its agent user or for a user"}
}

// DenyAgents refuses Microsoft Entra Agent ID agents ([Claims.IsAgent]),
// whether they act on their own, through their agent user account, or for
// a user, with [CodeAgentNotAllowed] (403). Every other caller passes. Use
// it on routes that only people or classic applications may call; refuse
// agents on a whole API with [WithoutAgents].
func DenyAgents() Requirement {
	r := Requirement{desc: "no agent (Microsoft Entra Agent ID)"}
	r.check = func(c *Claims) *Error {
		if c.IsAgent() {
			return agentDenied()
		}
		return nil
	}
	return r
}

// WithoutAgents makes the Authenticator refuse every token issued to a
// Microsoft Entra Agent ID agent ([Claims.IsAgent]) with
// [CodeAgentNotAllowed] (403), as [DenyAgents] does on one route.
// Default: agents are authenticated like any caller and the route's guards
// decide.
func WithoutAgents() Option {
	return optionFunc(func(o *options) { o.refuseAgents = true })
}
