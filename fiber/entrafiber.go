package entrafiber

import (
	"errors"
	"slices"
	"sync"

	"github.com/gofiber/fiber/v2"

	entra "github.com/entraguard/entraguard/core"
)

// Config configures [AuthenticateWithConfig].
type Config struct {
	// Next skips the middleware when it returns true: the request goes on
	// with no authentication and no claims (a guard after it answers 500,
	// a set-up mistake). Optional. Default: nil (never
	// skips).
	Next func(c *fiber.Ctx) bool

	// Options are the core's middleware options (realm, token sources,
	// WithOptionalToken, hooks...), as for entra.Middleware. Optional. Default: none.
	Options []entra.Option
}

// Authenticate returns middleware that authenticates every request with v
// and refuses the others with the core's RFC 6750 answer (status,
// WWW-Authenticate and JSON body). Mount it with app.Use or group.Use;
// handlers read the caller with [Claims]. It panics at set-up if v is nil.
func Authenticate(v *entra.Validator, opts ...entra.Option) fiber.Handler {
	return AuthenticateWithConfig(v, Config{Options: opts})
}

// AuthenticateWithConfig is [Authenticate] with a [Config]. It panics at
// set-up if v is nil.
func AuthenticateWithConfig(v *entra.Validator, cfg Config) fiber.Handler {
	a := entra.NewAuthenticator(v, cfg.Options...)
	next := cfg.Next
	var checked sync.Once
	return func(c *fiber.Ctx) error {
		checked.Do(func() { checkReadBuffer(c, a) })
		if next != nil && next(c) {
			c.SetUserContext(a.Skipped(c.UserContext()))
			return c.Next()
		}
		base := c.UserContext()
		ctx, resp := a.Authenticate(base, request{c})
		if resp != nil {
			return reject(c, resp)
		}
		if ctx != base {
			c.SetUserContext(ctx)
		}
		return c.Next()
	}
}

// Require returns a guard that lets a request through only when the claims
// put in its context by [Authenticate] meet every one of reqs: 401 when
// the request is anonymous, 403 when a requirement is not met, and 500
// (nothing of the cause; logged once per route) when Authenticate never
// read the request (see [entra.Authorize]). It panics at set-up if reqs is
// empty.
func Require(reqs ...entra.Requirement) fiber.Handler {
	if len(reqs) == 0 {
		panic("entrafiber: Require needs at least one requirement")
	}
	reqs = slices.Clone(reqs)
	return func(c *fiber.Ctx) error {
		if resp := entra.AuthorizeRoute(c.UserContext(), c.Route().Path, reqs...); resp != nil {
			return reject(c, resp)
		}
		return c.Next()
	}
}

// RequireScope guards with [entra.RequireScope]: one of the delegated
// scopes. It panics at set-up if no scope is named.
func RequireScope(scopes ...string) fiber.Handler { return Require(entra.RequireScope(scopes...)) }

// RequireAllScopes guards with [entra.RequireAllScopes]: every one of the
// delegated scopes. It panics at set-up if no scope is named.
func RequireAllScopes(scopes ...string) fiber.Handler {
	return Require(entra.RequireAllScopes(scopes...))
}

// RequireRole guards with [entra.RequireRole]: one of the app roles. It
// panics at set-up if no role is named.
func RequireRole(roles ...string) fiber.Handler { return Require(entra.RequireRole(roles...)) }

// RequireAllRoles guards with [entra.RequireAllRoles]: every one of the app
// roles. It panics at set-up if no role is named.
func RequireAllRoles(roles ...string) fiber.Handler { return Require(entra.RequireAllRoles(roles...)) }

// RequireScopeOrAppRole guards with [entra.RequireScopeOrAppRole]: one of
// scopes for user tokens, one of roles for app-only tokens. It panics at
// set-up if either list is empty.
func RequireScopeOrAppRole(scopes, roles []string) fiber.Handler {
	return Require(entra.RequireScopeOrAppRole(scopes, roles))
}

// RequireGroup guards with [entra.RequireGroup]: membership of one of the
// groups (object IDs). It panics at set-up if no group is named.
func RequireGroup(ids ...string) fiber.Handler { return Require(entra.RequireGroup(ids...)) }

// RequireApp guards with [entra.RequireApp]: the calling application is one
// of clientIDs. It panics at set-up if no client ID is named.
func RequireApp(clientIDs ...string) fiber.Handler { return Require(entra.RequireApp(clientIDs...)) }

// RequireTenant guards with [entra.RequireTenant]: the token's tenant is one
// of ids. It panics at set-up if no tenant is named.
func RequireTenant(ids ...string) fiber.Handler { return Require(entra.RequireTenant(ids...)) }

// RequireUser guards with [entra.RequireUser]: a delegated (user) token.
func RequireUser() fiber.Handler { return Require(entra.RequireUser()) }

// RequireAppOnly guards with [entra.RequireAppOnly]: an app-only token.
func RequireAppOnly() fiber.Handler { return Require(entra.RequireAppOnly()) }

// RequireMember guards with [entra.RequireMember]: no guest users.
func RequireMember() fiber.Handler { return Require(entra.RequireMember()) }

// RequireAgent guards with [entra.RequireAgent](kinds...): a Microsoft
// Entra Agent ID agent, of one of kinds if any are given. It panics at
// set-up on an unknown kind.
func RequireAgent(kinds ...entra.AgentKind) fiber.Handler {
	return Require(entra.RequireAgent(kinds...))
}

// DenyAgents guards with [entra.DenyAgents]: no Microsoft Entra Agent ID
// agent (403, code agent_not_allowed). Refuse agents on the whole API with
// the option [entra.WithoutAgents] instead.
func DenyAgents() fiber.Handler { return Require(entra.DenyAgents()) }

// Claims returns the claims [Authenticate] put in c's user context, and
// whether there are any (false for skipped and anonymous requests). It is
// entra.ClaimsFromContext(c.UserContext()).
// When ok is false the *entra.Claims is nil, whose methods are safe and
// read as zero values.
// A read on a request that Authenticate never saw (the route was
// registered before Use, or outside the group that has it) leaves the route
// open: it is reported once per route through the validator's logger, with
// the route and the fix (see [entra.ClaimsForRoute]).
func Claims(c *fiber.Ctx) (*entra.Claims, bool) {
	return entra.ClaimsForRoute(c.UserContext(), c.Route().Path)
}

// ErrorHandler returns a Fiber ErrorHandler that answers an error returned
// by a handler that is, or wraps, an *entra.Error (errors.As), such as the
// Err of [entra.Authorize]'s answer or an [entra.ClaimsChallenge], exactly
// as the middleware answers its refusals (RFC 6750 status,
// WWW-Authenticate, JSON body, with the options of the Authenticate that
// ran), and passes every other error to next, the app's own handler (nil:
// fiber.DefaultErrorHandler):
//
//	app := fiber.New(fiber.Config{ErrorHandler: entrafiber.ErrorHandler(nil)})
func ErrorHandler(next fiber.ErrorHandler) fiber.ErrorHandler {
	if next == nil {
		next = fiber.DefaultErrorHandler
	}
	return func(c *fiber.Ctx, err error) error {
		if errors.As(err, new(*entra.Error)) {
			return reject(c, entra.ResponseFor(c.UserContext(), err))
		}
		return next(c, err)
	}
}

// WriteError writes the answer to err, shaped by the options of the
// Authenticate that ran ([entra.ResponseFor]): the RFC 6750
// refusal for an *entra.Error, a 500 that reveals nothing for any other
// error. It returns nil, so that the app's ErrorHandler does not rewrite
// the answer: return entrafiber.WriteError(c, err).
func WriteError(c *fiber.Ctx, err error) error {
	return reject(c, entra.ResponseFor(c.UserContext(), err))
}

// checkReadBuffer logs, through the middleware's logger, when the app's
// ReadBufferSize, which caps the whole request head in fasthttp, cannot
// carry a token of the validator's MaxTokenSize.
func checkReadBuffer(c *fiber.Ctx, a *entra.Authenticator) {
	size := c.App().Server().ReadBufferSize
	if size <= 0 {
		size = fiber.DefaultReadBufferSize
	}
	a.CheckHeaderLimit(c.UserContext(), size, "fiber.Config.ReadBufferSize")
}

// reject writes the core's answer exactly, headers first, and returns nil
// so that no fiber ErrorHandler rewrites it.
func reject(c *fiber.Ctx, resp *entra.Response) error {
	h := &c.Response().Header
	for k, vs := range resp.Header {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	c.Status(resp.Status)
	_ = c.Send(resp.Body)
	return nil
}

// request adapts a *fiber.Ctx to entra.Request. fasthttp reuses a request's
// buffers once the handler returns, so every string handed to the core is a
// copy, never a view of those buffers; only HeaderBytes lends them, for the
// duration of Authenticate.
type request struct{ c *fiber.Ctx }

// HeaderBytes implements entra.HeaderBytesRequest: it lends fasthttp's
// buffers, which the core reads only until Authenticate returns (a cache
// hit then costs no copy of the token).
func (r request) HeaderBytes(name string) [][]byte {
	return r.c.Request().Header.PeekAll(name)
}

// HeaderValues implements entra.Request.
func (r request) HeaderValues(name string) []string {
	raw := r.c.Request().Header.PeekAll(name)
	if len(raw) == 0 {
		return nil
	}
	vals := make([]string, len(raw))
	for i, b := range raw {
		vals[i] = string(b)
	}
	return vals
}

// Cookie implements entra.Request.
func (r request) Cookie(name string) string { return string(r.c.Request().Header.Cookie(name)) }

// Query implements entra.Request.
func (r request) Query(name string) string {
	return string(r.c.Request().URI().QueryArgs().Peek(name))
}

// Path implements entra.Request: the path as the request line carries it,
// still escaped (fasthttp's PathOriginal, which reflects c.Path rewrites),
// not c.Path(), which Config.UnescapePath decodes.
func (r request) Path() string { return string(r.c.Request().URI().PathOriginal()) }

// RequireAuthContext guards with [entra.RequireAuthContext]: step-up to
// one of the Conditional Access authentication contexts ("c1" … "c99") in
// the token's acrs. A client that handles claims challenges (xms_cc "cp1")
// gets a 401 insufficient_claims challenge for it, any other caller a 403
// naming it. It panics at set-up if no ID is named or one is not c1 … c99.
func RequireAuthContext(ids ...string) fiber.Handler {
	return Require(entra.RequireAuthContext(ids...))
}
