package entra

import (
	"errors"
	"slices"
	"strings"

	"github.com/entraguard/entraguard/core/internal/guid"
)

// Requirement is an authorization rule, built once at set-up and checked
// per request against validated [Claims]. Build one with RequireScope,
// RequireRole, ... or Require; combine with AllOf and AnyOf.
//
// Constructors panic when given no names: a guard that names nothing is a
// programming error, never a guard that lets everyone through. The zero
// Requirement refuses everyone.
type Requirement struct {
	desc   string               // what is required, for logs and descriptions
	scopes []string             // delegated scopes that would satisfy it (scope= in 403)
	check  func(*Claims) *Error // nil: refuse
}

// String describes the requirement, e.g. `scope "Orders.Read"`.
func (r Requirement) String() string {
	if r.desc == "" {
		return "nothing (the zero Requirement refuses everyone)"
	}
	return r.desc
}

// Check reports whether c meets r: nil, or an *Error with Code
// [CodeForbidden] (or [CodeGroupsOverage]) that says what was required,
// without listing the caller's own claims.
func (r Requirement) Check(c *Claims) error {
	if err := r.eval(c); err != nil {
		return err
	}
	return nil
}

func (r Requirement) eval(c *Claims) *Error {
	if c == nil {
		return &Error{Code: CodeTokenMissing, Description: "no token was presented"}
	}
	if r.check == nil {
		return &Error{Code: CodeForbidden, Description: "access denied (empty requirement)"}
	}
	return r.check(c)
}

// forbidden is the refusal of r. Its Scopes are a copy: the error goes to
// callers of Check, renderers and hooks, which may change it.
func forbidden(r *Requirement) *Error {
	return &Error{Code: CodeForbidden, Description: "the token does not meet the requirement: " + r.desc, Scopes: slices.Clone(r.scopes)}
}

func needNames(fn, noun string, names []string) []string {
	if len(names) == 0 {
		panic("entra: " + fn + " needs at least one " + noun)
	}
	for _, n := range names {
		if strings.TrimSpace(n) == "" || n != strings.TrimSpace(n) {
			panic("entra: " + fn + " was given an empty or padded name")
		}
	}
	return slices.Clone(names)
}

// checkScopeNames panics when a scope is not the short name the token's
// scp carries: a full URI ("api://orders/Orders.Read") or several names in
// one string ("Orders.Read Orders.Write") would never match.
func checkScopeNames(fn string, scopes []string) {
	for _, s := range scopes {
		if s == ".default" || strings.HasSuffix(s, "/.default") {
			panic("entra: " + fn + " was given " + quote(s) + ", which no token carries: a client asks for .default to get the permissions granted to it, and the token then holds them, each by its name: require a delegated scope by the short name scp carries, e.g. " + fn + "(\"Orders.Read\"), or an app-only token's permission with RequireRole(\"Orders.Read.All\")")
		}
		if strings.Contains(s, "://") || strings.Contains(s, "/") {
			short := s[strings.LastIndex(s, "/")+1:]
			if short == "" {
				panic("entra: " + fn + " was given " + quote(s) + ", which names no scope: give the scope's short name as the token's scp carries it, e.g. \"Orders.Read\" (an scp of \"/\" is an agent's app-only token, which has no delegated scope)")
			}
			panic("entra: " + fn + " was given " + quote(s) + ": a token's scp holds the scope's short name, so name it as " + quote(short) + " (without the App ID URI)")
		}
		if strings.ContainsAny(s, " \t") {
			panic("entra: " + fn + " was given " + quote(s) + ": one scope per argument, e.g. " + fn + "(\"Orders.Read\", \"Orders.Write\")")
		}
	}
}

// checkRoleNames panics when a role is not the value the token's roles
// carries: a full URI ("api://orders/Admin"), ".default", or several
// names in one string ("Admin Reader") would never match.
func checkRoleNames(fn string, roles []string) {
	for _, r := range roles {
		if r == ".default" || strings.HasSuffix(r, "/.default") {
			panic("entra: " + fn + " was given " + quote(r) + ", which no token carries: a client asks for .default to get the app roles granted to it, and the token's roles then holds each role's value: name the role, e.g. " + fn + "(\"Orders.Read.All\")")
		}
		if strings.Contains(r, "://") {
			short := r[strings.LastIndex(r, "/")+1:]
			if short == "" {
				panic("entra: " + fn + " was given " + quote(r) + ", which names no app role: give the role's value as the token's roles carries it, e.g. \"Admin\"")
			}
			panic("entra: " + fn + " was given " + quote(r) + ": a token's roles holds the app role's value, so name it as " + quote(short) + " (without the App ID URI)")
		}
		if strings.ContainsAny(r, " \t") {
			panic("entra: " + fn + " was given " + quote(r) + ": one role per argument, e.g. " + fn + "(\"Admin\", \"Reader\"); an app role's value has no spaces")
		}
	}
}

// checkGUIDs panics when an ID is not a GUID: group, application and
// tenant IDs in tokens always are, so anything else is a mistake (a display
// name, a domain, an App ID URI) that would refuse everyone.
func checkGUIDs(fn, noun string, ids []string) {
	for _, id := range ids {
		if !guid.Is(id) {
			panic("entra: " + fn + " was given " + quote(id) + ": a " + noun + " is a GUID such as \"00000000-0000-0000-0000-000000000000\" (its object or application ID in the Azure portal), not a name")
		}
	}
}

func describe(kind string, all bool, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	switch {
	case len(names) == 1:
		return kind + " " + q[0]
	case all:
		return "all of the " + kind + "s " + strings.Join(q, ", ")
	default:
		return "one of the " + kind + "s " + strings.Join(q, ", ")
	}
}

func anyIn(have func(string) bool, names []string) bool {
	for _, n := range names {
		if have(n) {
			return true
		}
	}
	return false
}

func nameRequirement(fn, kind string, all bool, names []string, have func(*Claims, string) bool) Requirement {
	names = needNames(fn, kind, names)
	r := Requirement{desc: describe(kind, all, names)}
	if kind == "scope" {
		checkScopeNames(fn, names)
		r.scopes = names
	} else {
		checkRoleNames(fn, names)
	}
	// Plain loops: a closure over c here would be allocated on every check.
	r.check = func(c *Claims) *Error {
		met := all
		for _, n := range names {
			if have(c, n) != all {
				met = !all
				break
			}
		}
		if met {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireScope requires one of the delegated scopes (scp), matched exactly
// and case-sensitively. App-only tokens have no scopes and never meet it.
// Panics at set-up if no scope is named, or a name is a full URI,
// ".default" or holds a space (name each scope by the short name scp
// carries).
func RequireScope(scopes ...string) Requirement {
	return nameRequirement("RequireScope", "scope", false, scopes, (*Claims).HasScope)
}

// RequireAllScopes requires every one of the delegated scopes.
// Panics at set-up as [RequireScope] does.
func RequireAllScopes(scopes ...string) Requirement {
	return nameRequirement("RequireAllScopes", "scope", true, scopes, (*Claims).HasScope)
}

// RequireRole requires one of the app roles (roles), assigned to the user or
// to the calling app, matched exactly and case-sensitively by the role's
// value. Panics at set-up if no role is named, or a name is a full URI,
// ".default" or holds a space (name each role by the value roles carries).
func RequireRole(roles ...string) Requirement {
	return nameRequirement("RequireRole", "role", false, roles, (*Claims).HasRole)
}

// RequireAllRoles requires every one of the app roles.
// Panics at set-up as [RequireRole] does.
func RequireAllRoles(roles ...string) Requirement {
	return nameRequirement("RequireAllRoles", "role", true, roles, (*Claims).HasRole)
}

// RequireScopeOrAppRole is Microsoft.Identity.Web's RequiredScopeOrAppPermission:
// a delegated (user) token needs one of scopes; an app-only token needs one of
// roles. Panics at set-up if either list is empty, or a name is not what
// [RequireScope] and [RequireRole] accept.
func RequireScopeOrAppRole(scopes, roles []string) Requirement {
	scopes = needNames("RequireScopeOrAppRole", "scope", scopes)
	checkScopeNames("RequireScopeOrAppRole", scopes)
	roles = needNames("RequireScopeOrAppRole", "app role", roles)
	checkRoleNames("RequireScopeOrAppRole", roles)
	r := Requirement{
		desc:   describe("scope", false, scopes) + " for users, or " + describe("app role", false, roles) + " for applications",
		scopes: scopes,
	}
	r.check = func(c *Claims) *Error {
		if c.IsApp() {
			if anyIn(c.HasRole, roles) {
				return nil
			}
		} else if anyIn(c.HasScope, scopes) {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireGroup requires membership of one of the groups (object IDs in the
// groups claim, compared case-insensitively as GUIDs). A token with a groups overage (too many groups for the
// token) fails with [CodeGroupsOverage] rather than as a non-member: read
// the groups from Microsoft Graph, or configure group filtering or app roles.
// Panics at set-up if no group is named or an ID is not a GUID.
func RequireGroup(ids ...string) Requirement {
	ids = needNames("RequireGroup", "group", ids)
	checkGUIDs("RequireGroup", "group ID", ids)
	r := Requirement{desc: describe("group", false, ids)}
	r.check = func(c *Claims) *Error {
		for _, g := range c.groups.All() {
			if containsFold(ids, g) {
				return nil
			}
		}
		if c.HasGroupsOverage() {
			return &Error{Code: CodeGroupsOverage, Description: "the token has a groups overage (the user is in too many groups for the token to list them): " + r.desc + " cannot be checked; use app roles or group filtering, or read the groups from Microsoft Graph"}
		}
		return forbidden(&r)
	}
	return r
}

// RequireApp requires the calling application (azp in v2, appid in v1) to
// be one of clientIDs (compared case-insensitively, as GUIDs): an inbound
// access policy. Panics at set-up if no client ID is named or one is not a
// GUID.
func RequireApp(clientIDs ...string) Requirement {
	ids := needNames("RequireApp", "client ID", clientIDs)
	checkGUIDs("RequireApp", "client (application) ID", ids)
	r := Requirement{desc: describe("calling application", false, ids)}
	r.check = func(c *Claims) *Error {
		if containsFold(ids, c.AppID()) {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireTenant requires the token's tenant (tid) to be one of ids,
// compared case-insensitively. Panics at set-up if no tenant is named or one
// is not a GUID.
func RequireTenant(ids ...string) Requirement {
	ids = needNames("RequireTenant", "tenant", ids)
	checkGUIDs("RequireTenant", "tenant ID", ids)
	for i, id := range ids {
		ids[i] = strings.ToLower(id)
	}
	r := Requirement{desc: describe("tenant", false, ids)}
	r.check = func(c *Claims) *Error {
		if slices.Contains(ids, strings.ToLower(c.TenantID())) {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireUser requires a delegated token (a signed-in user).
func RequireUser() Requirement {
	r := Requirement{desc: "a signed-in user (delegated token)"}
	r.check = func(c *Claims) *Error {
		if c.IsUser() {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireAppOnly requires an app-only token (client credentials).
func RequireAppOnly() Requirement {
	r := Requirement{desc: "an application token (app-only)"}
	r.check = func(c *Claims) *Error {
		if c.IsApp() {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireMember refuses guest users (see [Claims.IsGuest]). App-only tokens
// pass.
func RequireMember() Requirement {
	r := Requirement{desc: "a member of the tenant (guests are not allowed)"}
	r.check = func(c *Claims) *Error {
		if !c.IsGuest() {
			return nil
		}
		return forbidden(&r)
	}
	return r
}

// RequireFunc builds a requirement from a function: nil allows, an error
// refuses. An *Error is used as it is (choose its Code); any other error
// becomes a [CodeForbidden] error whose description is the error's text, so
// write it for the caller. desc names the rule in logs. Panics if fn is nil.
func RequireFunc(desc string, fn func(*Claims) error) Requirement {
	if fn == nil {
		panic("entra: RequireFunc needs a function")
	}
	if desc == "" {
		desc = "a custom rule"
	}
	r := Requirement{desc: desc}
	r.check = func(c *Claims) *Error {
		err := fn(c)
		if err == nil {
			return nil
		}
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return &Error{Code: CodeForbidden, Description: err.Error()}
	}
	return r
}

// AllOf requires every one of reqs. Panics at set-up if reqs is empty.
func AllOf(reqs ...Requirement) Requirement {
	if len(reqs) == 0 {
		panic("entra: AllOf needs at least one requirement")
	}
	reqs = slices.Clone(reqs)
	descs := make([]string, len(reqs))
	var scopes []string
	for i, q := range reqs {
		descs[i] = q.String()
		scopes = append(scopes, q.scopes...)
	}
	r := Requirement{desc: "all of (" + strings.Join(descs, "; ") + ")", scopes: scopes}
	r.check = func(c *Claims) *Error {
		for _, q := range reqs {
			if err := q.eval(c); err != nil {
				return err
			}
		}
		return nil
	}
	return r
}

// AnyOf requires at least one of reqs. When none is met, the error is that
// of the first requirement, except that a groups overage is reported as such,
// and a claims challenge (a [RequireAuthContext] the client can step up to)
// is answered as such.
// Panics at set-up if reqs is empty.
func AnyOf(reqs ...Requirement) Requirement {
	if len(reqs) == 0 {
		panic("entra: AnyOf needs at least one requirement")
	}
	reqs = slices.Clone(reqs)
	descs := make([]string, len(reqs))
	var scopes []string
	for i, q := range reqs {
		descs[i] = q.String()
		scopes = append(scopes, q.scopes...)
	}
	r := Requirement{desc: "any of (" + strings.Join(descs, "; ") + ")", scopes: scopes}
	r.check = func(c *Claims) *Error {
		var overage, challenge *Error
		for _, q := range reqs {
			err := q.eval(c)
			if err == nil {
				return nil
			}
			if err.Code == CodeGroupsOverage && overage == nil {
				overage = err
			}
			if err.Claims != "" && challenge == nil {
				challenge = err
			}
		}
		if overage != nil {
			return overage
		}
		if challenge != nil {
			return challenge
		}
		return forbidden(&r)
	}
	return r
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// CapabilityClaimsChallenge is the client capability that Microsoft's
// clients declare (MSAL's WithClientCapabilities, clientCapabilities) when
// they handle claims challenges; Entra puts it in the token's xms_cc claim
// ([Claims.HasClientCapability]).
const CapabilityClaimsChallenge = "cp1"

// RequireAuthContext requires one of the Conditional Access authentication
// contexts ids ("c1" … "c99") in the token's acrs claim: proof that the
// user signed in satisfying the policy an administrator attached to that
// context (MFA, a compliant device, a trusted location...). IDs are compared
// ignoring letter case. It is a step-up guard: use it on the sensitive
// routes or methods only, beside their other requirements (AllOf, Require,
// MethodRules.Method).
//
// A token without the context is refused with [CodeAuthContextRequired]:
//   - a user's token whose client declared it handles claims challenges
//     (xms_cc holds "cp1"): 401 with error="insufficient_claims" and the
//     claims parameter, the base64 of
//     {"access_token":{"acrs":{"essential":true,"value":"c1"}}} for the
//     first of ids. MSAL clients pass the decoded claims to a new token
//     request (WithClaims, claims), the user satisfies the policy, and the
//     new token carries the context;
//   - any other token: 403 with error="insufficient_scope" and a
//     description that names the missing context. App-only tokens never
//     carry acrs (authentication contexts apply to users' sign-ins), so
//     they are always refused this way.
//
// Entra puts xms_cc (and acrs, when no challenge asked for it) in the
// API's tokens only when its app registration requests them as optional
// claims: see docs/authorization.md. Panics at set-up if no ID is named or
// an ID is not c1 … c99.
func RequireAuthContext(ids ...string) Requirement {
	ids = needNames("RequireAuthContext", "authentication context ID", ids)
	for i, id := range ids {
		if !isAuthContextID(id) {
			panic("entra: RequireAuthContext was given " + quote(id) + ": an authentication context ID is \"c1\" … \"c99\", as Conditional Access lists it (Protection > Conditional Access > Authentication contexts), not its display name")
		}
		ids[i] = strings.ToLower(id)
	}
	r := Requirement{desc: describe("authentication context", false, ids)}
	// The claims request of the challenge: the first context, which meets
	// the requirement on its own. Built once; ids are c1 … c99, no escaping.
	claims := `{"access_token":{"acrs":{"essential":true,"value":"` + ids[0] + `"}}}`
	lacks := "the token lacks the " + r.desc + " (acrs) that this operation requires"
	challenge := lacks + ": request a new token with the claims in this challenge, satisfying its Conditional Access policy"
	refuse := lacks + ": the user must sign in again through Conditional Access with a token request that asks for acrs " + quote(ids[0]) + " as an essential claim (clients that declare the capability cp1 get this as a claims challenge)"
	refuseApp := lacks + ", and an app-only token cannot carry one: authentication contexts apply to users' sign-ins"
	r.check = func(c *Claims) *Error {
		for _, id := range ids {
			if c.HasAuthContext(id) {
				return nil
			}
		}
		switch {
		case c.IsApp():
			return &Error{Code: CodeAuthContextRequired, Description: refuseApp}
		case c.HasClientCapability(CapabilityClaimsChallenge):
			return &Error{Code: CodeAuthContextRequired, Description: challenge, Claims: claims}
		}
		return &Error{Code: CodeAuthContextRequired, Description: refuse}
	}
	return r
}

// isAuthContextID reports whether s is "c1" … "c99" (either case), the IDs
// Conditional Access gives authentication contexts.
func isAuthContextID(s string) bool {
	if len(s) < 2 || len(s) > 3 || s[0] != 'c' && s[0] != 'C' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
