package entra

import (
	"context"
	"fmt"
	"net/http"
)

// ctxKey is the unexported type of this package's context key.
type ctxKey struct{}

// ctxValue travels in a request's context once it is authenticated: the
// claims, and the Authenticator whose options shape later answers (guards).
type ctxValue struct {
	claims *Claims
	auth   *Authenticator
	// skipped: the middleware let the request through unread (WithSkipPaths).
	skipped bool
}

// NewContext returns a copy of ctx carrying claims, as the middleware does.
// Tests of handlers can use it to simulate an authenticated request.
func NewContext(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, &ctxValue{claims: claims})
}

// newContext is NewContext for the middleware: one allocation, where
// context.WithValue and a *ctxValue would be two.
func newContext(ctx context.Context, claims *Claims, a *Authenticator) context.Context {
	return &authContext{Context: ctx, val: ctxValue{claims: claims, auth: a}}
}

// For adapter authors: Skipped returns ctx marked as a request the adapter's own skipper (Echo's
// Skipper, Fiber's Next) let through without reading its token, as
// [WithSkipPaths] does: handlers find no claims there, and reading them is not
// reported as a set-up mistake; a guard on it answers 500 and logs the
// mistake (see [Authorize]).
func (a *Authenticator) Skipped(ctx context.Context) context.Context {
	return newSkippedContext(ctx, a)
}

// newSkippedContext marks a request the middleware let through without
// reading its token ([WithSkipPaths]).
func newSkippedContext(ctx context.Context, a *Authenticator) context.Context {
	return &authContext{Context: ctx, val: ctxValue{auth: a, skipped: true}}
}

// authContext is a context carrying a ctxValue under ctxKey, as
// context.WithValue(parent, ctxKey{}, &val) would.
type authContext struct {
	context.Context
	val ctxValue
}

func (c *authContext) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.val
	}
	return c.Context.Value(key)
}

func (c *authContext) String() string { return fmt.Sprint(c.Context) + ".WithValue(entra claims)" }

// ClaimsFromContext returns the claims the middleware stored in ctx, and
// whether there are any (false for anonymous requests). When ok is false the
// *Claims is nil, whose methods are safe and read as zero values.
//
// Reading the claims of a request that no middleware saw is a set-up
// mistake that leaves the route open (the middleware is added after the
// route, or on another router or group): it is reported once, as
// [ClaimsForRoute] does, without a route name. The adapters' Claims
// functions, [ClaimsFromRequest] and [ClaimsForRoute] name the route.
// Tests of handlers build their context with [NewContext] (claims or nil).
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	return ClaimsForRoute(ctx, "")
}

// ClaimsFromRequest is [ClaimsFromContext] for r's context; a read on a
// request no middleware saw is reported naming r.Pattern, the
// [http.ServeMux] pattern that routed it.
func ClaimsFromRequest(r *http.Request) (*Claims, bool) {
	return ClaimsForRoute(r.Context(), r.Pattern)
}

// For adapter authors: ClaimsForRoute is [ClaimsFromContext] for a handler on route (the
// router's pattern, such as "/api/orders/:id"); the adapters' Claims
// functions call it. When no middleware saw the request (ctx carries
// neither claims nor the mark of an anonymous or skipped request), the
// route is open to anyone: the first such read of each route (at most 64
// routes are remembered) is logged at Warn, naming the route and the fix,
// to the Config.Logger of the Validator of the most recently built
// middleware, else [slog.Default]. Nothing of the request is logged.
func ClaimsForRoute(ctx context.Context, route string) (*Claims, bool) {
	v, _ := ctx.Value(ctxKey{}).(*ctxValue)
	if v == nil {
		warnOnce(&unreadRoutes, route, "entra: a handler read the claims of a request that did not pass through the authentication middleware, so the route is open to anyone: put Authenticate in front of the route (call Use before registering the routes, or register the route in the group that has the middleware; for gRPC and Connect, install the interceptor on every handler)")
		return nil, false
	}
	if v.claims == nil {
		return nil, false
	}
	return v.claims, true
}

// claimsOf is ClaimsFromContext for the package's own use: it reports
// nothing.
func claimsOf(ctx context.Context) *Claims {
	if v, _ := ctx.Value(ctxKey{}).(*ctxValue); v != nil {
		return v.claims
	}
	return nil
}

func authFromContext(ctx context.Context) *Authenticator {
	if v, _ := ctx.Value(ctxKey{}).(*ctxValue); v != nil && v.auth != nil {
		return v.auth
	}
	return defaultAuthenticator
}
