package entraecho

import (
	"errors"
	"slices"

	entra "github.com/entraguard/entraguard/core"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Config configures [AuthenticateWithConfig]. The zero Config authenticates
// every request with the core's defaults.
type Config struct {
	// Skipper decides, per request, to skip authentication: true lets the
	// request through with no check and no claims (guards after it refuse
	// it with 500, a set-up mistake). Prefer mounting the middleware on a route group.
	// Optional. Default: middleware.DefaultSkipper (never skips).
	Skipper middleware.Skipper

	// Options are the core's options (realm, token sources, hooks...),
	// taken unchanged. Optional. Default: none (see [entra.Option]).
	Options []entra.Option
}

// Authenticate returns Echo middleware that authenticates every request
// with v. It is [AuthenticateWithConfig] with Config{Options: opts}.
// It panics at set-up if v is nil.
func Authenticate(v *entra.Validator, opts ...entra.Option) echo.MiddlewareFunc {
	return AuthenticateWithConfig(v, Config{Options: opts})
}

// AuthenticateWithConfig returns Echo middleware that authenticates every
// request not skipped by cfg.Skipper with v (see
// [entra.Authenticator.Authenticate]) and refuses the others with their
// RFC 6750 answer: a 401 or 400 with WWW-Authenticate, or a 503 with
// Retry-After when the signing keys cannot be fetched. It is fail-closed:
// a request goes on only with validated claims, or anonymously under
// [entra.WithOptionalToken].
//
// On success the claims are put in the request's context, where [Claims],
// [entra.ClaimsFromContext] and the Require guards find them. A refusal is
// written in full and the middleware returns nil, so that the app's
// HTTPErrorHandler cannot rewrite it.
//
// It panics at set-up if v is nil.
func AuthenticateWithConfig(v *entra.Validator, cfg Config) echo.MiddlewareFunc {
	a := entra.NewAuthenticator(v, cfg.Options...)
	skip := cfg.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if skip(c) {
				c.SetRequest(r.WithContext(a.Skipped(r.Context())))
				return next(c)
			}
			ctx, resp := a.Authenticate(r.Context(), entra.HTTPRequest{R: r})
			if resp != nil {
				return reject(c, resp)
			}
			if ctx != r.Context() {
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// Require returns a guard that lets a request through only when the claims
// put in its context by [Authenticate] meet every one of reqs (see
// [entra.Authorize]). It answers 401 when the request is anonymous, 403
// with error="insufficient_scope" when a requirement is not met, and 500
// (nothing of the cause; logged once per route) when Authenticate never
// read the request (the guard is not behind it, or the request was
// skipped); the handler does not run. Use it per route or per group:
//
//	e.GET("/admin", h, entraecho.Require(entra.RequireRole("Admin"), entra.RequireMember()))
//
// It panics at set-up if reqs is empty.
func Require(reqs ...entra.Requirement) echo.MiddlewareFunc {
	if len(reqs) == 0 {
		panic("entraecho: Require needs at least one requirement")
	}
	reqs = slices.Clone(reqs)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if resp := entra.AuthorizeRoute(c.Request().Context(), c.Path(), reqs...); resp != nil {
				return reject(c, resp)
			}
			return next(c)
		}
	}
}

// RequireScope is [Require] of [entra.RequireScope](scopes...): one of the
// delegated scopes. Panics at set-up if no scope is named.
func RequireScope(scopes ...string) echo.MiddlewareFunc {
	return Require(entra.RequireScope(scopes...))
}

// RequireAllScopes is [Require] of [entra.RequireAllScopes](scopes...):
// every one of the delegated scopes. Panics at set-up if no scope is named.
func RequireAllScopes(scopes ...string) echo.MiddlewareFunc {
	return Require(entra.RequireAllScopes(scopes...))
}

// RequireRole is [Require] of [entra.RequireRole](roles...): one of the app
// roles. Panics at set-up if no role is named.
func RequireRole(roles ...string) echo.MiddlewareFunc {
	return Require(entra.RequireRole(roles...))
}

// RequireAllRoles is [Require] of [entra.RequireAllRoles](roles...): every
// one of the app roles. Panics at set-up if no role is named.
func RequireAllRoles(roles ...string) echo.MiddlewareFunc {
	return Require(entra.RequireAllRoles(roles...))
}

// RequireScopeOrAppRole is [Require] of [entra.RequireScopeOrAppRole](scopes,
// roles): a user's token needs one of scopes, an app-only token one of
// roles. Panics at set-up if either list is empty.
func RequireScopeOrAppRole(scopes, roles []string) echo.MiddlewareFunc {
	return Require(entra.RequireScopeOrAppRole(scopes, roles))
}

// RequireGroup is [Require] of [entra.RequireGroup](ids...): membership of
// one of the groups (object IDs). Panics at set-up if no group is named.
func RequireGroup(ids ...string) echo.MiddlewareFunc {
	return Require(entra.RequireGroup(ids...))
}

// RequireApp is [Require] of [entra.RequireApp](clientIDs...): the calling
// application must be one of clientIDs. Panics at set-up if none is named.
func RequireApp(clientIDs ...string) echo.MiddlewareFunc {
	return Require(entra.RequireApp(clientIDs...))
}

// RequireTenant is [Require] of [entra.RequireTenant](ids...): the token's
// tenant must be one of ids. Panics at set-up if no tenant is named.
func RequireTenant(ids ...string) echo.MiddlewareFunc {
	return Require(entra.RequireTenant(ids...))
}

// RequireUser is [Require] of [entra.RequireUser](): a delegated token (a
// signed-in user).
func RequireUser() echo.MiddlewareFunc {
	return Require(entra.RequireUser())
}

// RequireAppOnly is [Require] of [entra.RequireAppOnly](): an app-only
// token (client credentials).
func RequireAppOnly() echo.MiddlewareFunc {
	return Require(entra.RequireAppOnly())
}

// RequireMember is [Require] of [entra.RequireMember](): no guest users.
func RequireMember() echo.MiddlewareFunc {
	return Require(entra.RequireMember())
}

// RequireAgent is [Require] of [entra.RequireAgent](kinds...): a Microsoft
// Entra Agent ID agent, of one of kinds if any are given. Panics at set-up
// on an unknown kind.
func RequireAgent(kinds ...entra.AgentKind) echo.MiddlewareFunc {
	return Require(entra.RequireAgent(kinds...))
}

// DenyAgents is [Require] of [entra.DenyAgents](): no Microsoft Entra Agent
// ID agent (403, code agent_not_allowed). Refuse agents on the whole API
// with the option [entra.WithoutAgents] instead.
func DenyAgents() echo.MiddlewareFunc {
	return Require(entra.DenyAgents())
}

// Claims returns the claims that [Authenticate] put in the request's
// context, and whether there are any (false for anonymous or skipped
// requests). It is [entra.ClaimsFromContext] on c.Request().Context().
// When ok is false the *entra.Claims is nil, whose methods are safe and
// read as zero values.
// A read on a request that Authenticate never saw (the route was
// registered before Use, or outside the group that has it) leaves the route
// open: it is reported once per route through the validator's logger, with
// the route and the fix (see [entra.ClaimsForRoute]).
func Claims(c echo.Context) (*entra.Claims, bool) {
	return entra.ClaimsForRoute(c.Request().Context(), c.Path())
}

// ErrorHandler returns an Echo HTTPErrorHandler that answers an error
// returned by a handler or middleware that is, or wraps, an *entra.Error
// (errors.As), such as the Err of [entra.Authorize]'s answer or an
// [entra.ClaimsChallenge], exactly as the middleware answers its refusals
// (RFC 6750 status, WWW-Authenticate, JSON body, with the options of the
// Authenticate that ran), and passes every other error to next, the app's
// own handler (nil: Echo's default). Install it once:
//
//	e.HTTPErrorHandler = entraecho.ErrorHandler(e.HTTPErrorHandler)
func ErrorHandler(next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if !c.Response().Committed {
			if errors.As(err, new(*entra.Error)) {
				_ = reject(c, entra.ResponseFor(c.Request().Context(), err))
				return
			}
		}
		if next != nil {
			next(err, c)
		} else {
			c.Echo().DefaultHTTPErrorHandler(err, c)
		}
	}
}

// WriteError writes the answer to err, shaped by the options of the
// Authenticate that ran ([entra.ResponseFor]): the RFC 6750
// refusal for an *entra.Error, a 500 that reveals nothing for any other
// error. It returns nil, so that the app's HTTPErrorHandler does not
// rewrite the answer: return entraecho.WriteError(c, err).
func WriteError(c echo.Context, err error) error {
	return reject(c, entra.ResponseFor(c.Request().Context(), err))
}

// reject writes the core's answer, headers first, and returns nil: an
// error would go to the app's HTTPErrorHandler, which would rewrite it.
func reject(c echo.Context, resp *entra.Response) error {
	resp.Write(c.Response())
	return nil
}

// RequireAuthContext is [Require] of [entra.RequireAuthContext](ids...):
// step-up to one of the Conditional Access authentication contexts
// ("c1" … "c99") in the token's acrs. A client that handles claims
// challenges (xms_cc "cp1") gets a 401 insufficient_claims challenge for
// it, any other caller a 403 naming it. Panics at set-up if no ID is named
// or one is not c1 … c99.
func RequireAuthContext(ids ...string) echo.MiddlewareFunc {
	return Require(entra.RequireAuthContext(ids...))
}
