package entra

import (
	"context"
	"log/slog"
	"strconv"
)

// What the adapters for frameworks with an error handler of their own (Echo,
// Fiber) and a header limit of their own (Fiber) share, so that each stays
// a translation.

// headerRoom is the room [Validator.RequestHeaderSize] leaves beside the
// token for the request line and ordinary headers (Host, Accept,
// User-Agent, cookies, tracing headers...).
const headerRoom = 8 << 10

// authorizationOverhead is "Authorization: Bearer " and the line's CRLF.
const authorizationOverhead = len("Authorization: Bearer \r\n")

// RequestHeaderSize returns the size, in bytes, of request head (request
// line and headers) a server or proxy must accept so that a token of
// Config.MaxTokenSize fits in an Authorization header beside 8 KiB of
// ordinary headers: 24,600 bytes with the default 16 KiB MaxTokenSize.
// Servers with a smaller limit answer requests with large tokens (users in
// many groups) 431 or 400 before any middleware runs. Set Fiber's
// ReadBufferSize, or a proxy's header limit, to at least this.
func (v *Validator) RequestHeaderSize() int {
	return v.s.maxTokenSize + authorizationOverhead + headerRoom
}

// For adapter authors: CheckHeaderLimit reports, through the middleware's logger ([WithLogger],
// else Config.Logger, else [slog.Default]), when a server that accepts at most
// limit bytes of request head cannot carry a token of Config.MaxTokenSize,
// and returns false then. setting names the fix in the framework's own
// terms (for Fiber, "fiber.Config.ReadBufferSize"); the message gives the
// value to set it to, [Validator.RequestHeaderSize]. Adapters call it once,
// on their first request.
func (a *Authenticator) CheckHeaderLimit(ctx context.Context, limit int, setting string) bool {
	need := a.v.RequestHeaderSize()
	if limit >= need {
		return true
	}
	a.setupLog().LogAttrs(ctx, slog.LevelWarn,
		"entra: the server's request header limit is smaller than a token of Config.MaxTokenSize: requests with large tokens (users in many groups) are refused before the middleware runs; set "+
			setting+" to "+strconv.Itoa(need)+" or more",
		slog.String("setting", setting), slog.Int("limit", limit), slog.Int("need", need),
		slog.Int("max_token_size", a.v.s.maxTokenSize))
	return false
}

// For adapter authors: ContextKey returns the key under which the middleware stores what it
// learnt of a request (its claims, and the options that shape later
// answers) in the request's context. Adapters for frameworks whose request
// object is itself a context.Context with a value store of its own (Fiber
// v3, whose fiber.Ctx.Value reads its Locals) copy ctx.Value(ContextKey())
// there too, so that [ClaimsFromContext] finds the claims whichever of the
// two contexts a handler passes on. The value's type is this package's
// own: the key cannot be used to forge claims.
func ContextKey() any { return ctxKey{} }
