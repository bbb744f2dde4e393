package entragin

import (
	"slices"

	entra "github.com/entraguard/entraguard/core"
	"github.com/gin-gonic/gin"
)

// Authenticate returns Gin middleware that authenticates every request with
// v (see [entra.Authenticator.Authenticate]) and refuses the others with
// their RFC 6750 answer: a 401 or 400 with WWW-Authenticate, or a 503 with
// Retry-After when the signing keys cannot be fetched. It is fail-closed:
// a request goes on only with validated claims, or anonymously under
// [entra.WithOptionalToken].
//
// On success the claims are put in the request's context, where [Claims],
// [entra.ClaimsFromContext] and the Require guards find them. opts are the
// core's options (realm, token sources, hooks...), taken unchanged.
//
// Gin has no skipper: mount it on the route group to protect, and leave
// public routes (health probes) outside that group.
//
// It panics at set-up if v is nil.
func Authenticate(v *entra.Validator, opts ...entra.Option) gin.HandlerFunc {
	a := entra.NewAuthenticator(v, opts...)
	return func(c *gin.Context) {
		ctx, resp := a.Authenticate(c.Request.Context(), entra.HTTPRequest{R: c.Request})
		if resp != nil {
			reject(c, resp)
			return
		}
		if ctx != c.Request.Context() {
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()
	}
}

// Require returns a guard that lets a request through only when the claims
// put in its context by [Authenticate] meet every one of reqs (see
// [entra.Authorize]). It answers 401 when the request is anonymous, 403
// with error="insufficient_scope" when a requirement is not met, and 500
// (nothing of the cause; logged once per route) when Authenticate never
// read the request (the guard is not behind it); the handlers after it do
// not run. Use it per route or per group:
//
//	api.GET("/admin", entragin.Require(entra.RequireRole("Admin"), entra.RequireMember()), h)
//
// It panics at set-up if reqs is empty.
func Require(reqs ...entra.Requirement) gin.HandlerFunc {
	if len(reqs) == 0 {
		panic("entragin: Require needs at least one requirement")
	}
	reqs = slices.Clone(reqs)
	return func(c *gin.Context) {
		if resp := entra.AuthorizeRoute(c.Request.Context(), c.FullPath(), reqs...); resp != nil {
			reject(c, resp)
			return
		}
		c.Next()
	}
}

// RequireScope is [Require] of [entra.RequireScope](scopes...): one of the
// delegated scopes. Panics at set-up if no scope is named.
func RequireScope(scopes ...string) gin.HandlerFunc {
	return Require(entra.RequireScope(scopes...))
}

// RequireAllScopes is [Require] of [entra.RequireAllScopes](scopes...): every
// one of the delegated scopes. Panics at set-up if no scope is named.
func RequireAllScopes(scopes ...string) gin.HandlerFunc {
	return Require(entra.RequireAllScopes(scopes...))
}

// RequireRole is [Require] of [entra.RequireRole](roles...): one of the app
// roles. Panics at set-up if no role is named.
func RequireRole(roles ...string) gin.HandlerFunc {
	return Require(entra.RequireRole(roles...))
}

// RequireAllRoles is [Require] of [entra.RequireAllRoles](roles...): every one
// of the app roles. Panics at set-up if no role is named.
func RequireAllRoles(roles ...string) gin.HandlerFunc {
	return Require(entra.RequireAllRoles(roles...))
}

// RequireScopeOrAppRole is [Require] of [entra.RequireScopeOrAppRole](scopes,
// roles): a user's token needs one of scopes, an app-only token one of
// roles. Panics at set-up if either list is empty.
func RequireScopeOrAppRole(scopes, roles []string) gin.HandlerFunc {
	return Require(entra.RequireScopeOrAppRole(scopes, roles))
}

// RequireGroup is [Require] of [entra.RequireGroup](ids...): membership of one
// of the groups (object IDs). Panics at set-up if no group is named.
func RequireGroup(ids ...string) gin.HandlerFunc {
	return Require(entra.RequireGroup(ids...))
}

// RequireApp is [Require] of [entra.RequireApp](clientIDs...): the calling
// application must be one of clientIDs. Panics at set-up if none is named.
func RequireApp(clientIDs ...string) gin.HandlerFunc {
	return Require(entra.RequireApp(clientIDs...))
}

// RequireTenant is [Require] of [entra.RequireTenant](ids...): the token's
// tenant must be one of ids. Panics at set-up if no tenant is named.
func RequireTenant(ids ...string) gin.HandlerFunc {
	return Require(entra.RequireTenant(ids...))
}

// RequireUser is [Require] of [entra.RequireUser](): a delegated token (a
// signed-in user).
func RequireUser() gin.HandlerFunc {
	return Require(entra.RequireUser())
}

// RequireAppOnly is [Require] of [entra.RequireAppOnly](): an app-only token
// (client credentials).
func RequireAppOnly() gin.HandlerFunc {
	return Require(entra.RequireAppOnly())
}

// RequireMember is [Require] of [entra.RequireMember](): no guest users.
func RequireMember() gin.HandlerFunc {
	return Require(entra.RequireMember())
}

// RequireAgent is [Require] of [entra.RequireAgent](kinds...): a Microsoft
// Entra Agent ID agent, of one of kinds if any are given. Panics at set-up
// on an unknown kind.
func RequireAgent(kinds ...entra.AgentKind) gin.HandlerFunc {
	return Require(entra.RequireAgent(kinds...))
}

// DenyAgents is [Require] of [entra.DenyAgents](): no Microsoft Entra Agent
// ID agent (403, code agent_not_allowed). Refuse agents on the whole API
// with the option [entra.WithoutAgents] instead.
func DenyAgents() gin.HandlerFunc {
	return Require(entra.DenyAgents())
}

// Claims returns the claims that [Authenticate] put in the request's
// context, and whether there are any (false for anonymous requests and
// routes outside Authenticate). It is [entra.ClaimsFromContext] on
// c.Request.Context().
// When ok is false the *entra.Claims is nil, whose methods are safe and
// read as zero values.
// A read on a request that Authenticate never saw (the route was
// registered before Use, or outside the group that has it) leaves the route
// open: it is reported once per route through the validator's logger, with
// the route and the fix (see [entra.ClaimsForRoute]).
func Claims(c *gin.Context) (*entra.Claims, bool) {
	return entra.ClaimsForRoute(c.Request.Context(), c.FullPath())
}

// reject writes the core's answer with the core's own writer (the bytes of
// entra.Middleware) and stops the chain. It sets no Gin error: the answer
// is final, and is the same in every adapter.
func reject(c *gin.Context, resp *entra.Response) {
	resp.Write(c.Writer)
	c.Abort()
}

// RequireAuthContext is [Require] of [entra.RequireAuthContext](ids...):
// step-up to one of the Conditional Access authentication contexts
// ("c1" … "c99") in the token's acrs. A client that handles claims
// challenges (xms_cc "cp1") gets a 401 insufficient_claims challenge for
// it, any other caller a 403 naming it. Panics at set-up if no ID is named
// or one is not c1 … c99.
func RequireAuthContext(ids ...string) gin.HandlerFunc {
	return Require(entra.RequireAuthContext(ids...))
}
