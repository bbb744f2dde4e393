package entra

import (
	"context"
	"fmt"
)

// ctxKey is the unexported type of this package's context key.
type ctxKey struct{}

// ctxValue travels in a request's context once it is authenticated: the
// claims, and the Authenticator whose options shape later answers (guards).
type ctxValue struct {
	claims *Claims
	auth   *Authenticator
	// skipped: the middleware let the request through unread (SkipPaths).
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

// newSkippedContext marks a request the middleware let through without
// reading its token ([SkipPaths]).
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
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	v, _ := ctx.Value(ctxKey{}).(*ctxValue)
	if v == nil || v.claims == nil {
		return nil, false
	}
	return v.claims, true
}

func authFromContext(ctx context.Context) *Authenticator {
	if v, _ := ctx.Value(ctxKey{}).(*ctxValue); v != nil && v.auth != nil {
		return v.auth
	}
	return defaultAuthenticator
}
