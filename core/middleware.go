package entra

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Option configures an [Authenticator], the net/http [Middleware] and the
// adapters' middleware, which all take the same options.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	realm              string
	authURI            bool
	sources            []tokenSource
	optional           bool
	allowNoPermissions bool
	refuseAgents       bool
	skip               []string
	render             func(*Error, *Response)
	onAuthenticated    func(context.Context, *Claims)
	onRejected         func(context.Context, *Error)
	logger             *slog.Logger
	mtls               *mtlsBinding  // WithMTLSBinding: mtls.go
	callCheck          time.Duration // WithCallCheckInterval: rpc.go
}

func defaultOptions() options {
	return options{authURI: true, sources: []tokenSource{{kind: sourceAuthorization}}, callCheck: DefaultCallCheckInterval}
}

// WithRealm sets the realm of WWW-Authenticate challenges. Default: "".
func WithRealm(realm string) Option {
	return optionFunc(func(o *options) { o.realm = realm })
}

// WithoutAuthorizationURI leaves the tenant's authorization_uri out of 401
// challenges. Default: it is included once metadata is loaded, so that
// clients can discover where to get a token, as Microsoft's APIs do.
func WithoutAuthorizationURI() Option {
	return optionFunc(func(o *options) { o.authURI = false })
}

func addSource(o *options, s tokenSource) {
	o.sources = append(o.sources, s)
}

// WithTokenFromHeader also accepts the token in the named header (its value
// may be the bare token or "Bearer <token>"). A request may carry a token in
// one place only. Default: only the Authorization header.
func WithTokenFromHeader(name string) Option {
	if strings.TrimSpace(name) == "" {
		panic("entra: WithTokenFromHeader needs a header name")
	}
	return optionFunc(func(o *options) { addSource(o, tokenSource{kind: sourceHeader, name: http.CanonicalHeaderKey(name)}) })
}

// WithTokenFromCookie also accepts the token in the named cookie. Default: off.
func WithTokenFromCookie(name string) Option {
	if strings.TrimSpace(name) == "" {
		panic("entra: WithTokenFromCookie needs a cookie name")
	}
	return optionFunc(func(o *options) { addSource(o, tokenSource{kind: sourceCookie, name: name}) })
}

// WithTokenFromQuery also accepts the token in the access_token query
// parameter (RFC 6750 §2.3). Default: off, because URLs end up in logs,
// proxies and browser history; enable it only where nothing else works
// (e.g. WebSocket handshakes from browsers).
func WithTokenFromQuery() Option {
	return optionFunc(func(o *options) { addSource(o, tokenSource{kind: sourceQuery}) })
}

// WithOptionalToken lets requests without a token through as anonymous (no claims in
// the context); a request with a token that fails validation is still
// refused. Guards still refuse anonymous requests. Default: a token is required.
func WithOptionalToken() Option {
	return optionFunc(func(o *options) { o.optional = true })
}

// WithoutScopeOrRoleCheck admits tokens that carry neither scp nor roles (ID
// tokens, apps authorized by an access list). Default: such tokens are
// refused with [CodeNoScopeOrRole], as Microsoft.Identity.Web does (IDW10201).
//
// It is also the API's opt-in to ID tokens: without it, a payload with a
// nonce claim (which only ID tokens carry; no Entra access token does) is
// refused with [CodeIDTokenNotAccepted], even when it carries roles.
func WithoutScopeOrRoleCheck() Option {
	return optionFunc(func(o *options) { o.allowNoPermissions = true })
}

// WithSkipPaths lets requests for exactly these paths through without any check
// (health probes). Prefer mounting the middleware on a route group where the
// framework allows it.
//
// A path matches only the escaped path the request carries ([Request.Path]),
// byte for byte: WithSkipPaths("/health/live") skips "/health/live" but not
// "/health%2Flive", "/health/liv%65", "/health/live/" or "//health/live",
// which routers may send to other (protected) handlers. Write paths as
// they appear on the request line ("/a%20b", not "/a b"); WithSkipPaths panics
// at set-up on a path that is not in that form or has a query.
func WithSkipPaths(paths ...string) Option {
	for _, p := range paths {
		checkSkipPath(p)
	}
	return optionFunc(func(o *options) { o.skip = append(o.skip, paths...) })
}

// WithErrorRenderer lets fn reshape refusals, e.g. to render another body.
// fn receives the error and the default response and may change its Status,
// Header and Body; a status below 400 is ignored, so a refusal stays one.
// The error is this request's own deep copy (Scopes included): fn may
// change it without affecting other requests or the guard that refused.
func WithErrorRenderer(fn func(err *Error, r *Response)) Option {
	return optionFunc(func(o *options) { o.render = fn })
}

// OnAuthenticated calls fn for every authenticated request (audit logs,
// metrics). fn must not block.
func OnAuthenticated(fn func(ctx context.Context, c *Claims)) Option {
	return optionFunc(func(o *options) { o.onAuthenticated = fn })
}

// OnRejected calls fn for every refused request, authentication or
// authorization. fn must not block. err is the request's own copy, the one
// the error renderer saw; changing it affects nothing else.
func OnRejected(fn func(ctx context.Context, err *Error)) Option {
	return optionFunc(func(o *options) { o.onRejected = fn })
}

// WithLogger logs each refusal (code and status; never the token) at Info
// level, with the agent's blueprint (agent_blueprint_app_id, from
// xms_par_app_azp) when an agent's valid token is refused, for auditing as
// Entra's sign-in logs do. Default: Config.Logger when the Validator was
// given one; otherwise refusals are not logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}

// DefaultCallCheckInterval is how often, by default, a long-lived call
// (a gRPC or Connect stream) is checked against Config.Revocations; see
// [Authenticator.WatchCall].
const DefaultCallCheckInterval = 10 * time.Second

// WithCallCheckInterval sets how often a long-lived call (a gRPC or Connect
// stream) is checked against Config.Revocations, and so the longest delay
// between a revocation reaching the list and the call ending. Its expiry
// is not delayed by it: the call ends at exp + ClockSkew. d is clamped to
// [10ms, 10m]. Default: [DefaultCallCheckInterval].
func WithCallCheckInterval(d time.Duration) Option {
	return optionFunc(func(o *options) { o.callCheck = min(max(d, 10*time.Millisecond), 10*time.Minute) })
}

// errNoToken is the refusal of a request without a token. Its fields are
// never changed, so one value serves every request.
var errNoToken = &Error{Code: CodeTokenMissing, Description: "no bearer token was presented: send Authorization: Bearer <token>"}

// Authenticator authenticates requests for the net/http middleware and the
// adapters: it finds the token, validates it, applies the default policy and
// the options, and maps every refusal to its [Response]. Create it once.
type Authenticator struct {
	v *Validator
	o options
}

var defaultAuthenticator = &Authenticator{o: defaultOptions()}

// NewAuthenticator returns an Authenticator for v. It panics at set-up if v
// is nil.
func NewAuthenticator(v *Validator, opts ...Option) *Authenticator {
	if v == nil {
		panic("entra: NewAuthenticator needs a Validator (NewValidator returned an error you did not check?)")
	}
	a := &Authenticator{v: v, o: defaultOptions()}
	lastValidator.Store(v)
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&a.o)
		}
	}
	if a.o.logger == nil && v.s.ownLogger {
		// Refusals are per-request lines: logged only to a logger the
		// application chose, never to the slog.Default fallback.
		a.o.logger = v.s.logger
	}
	return a
}

// For adapter authors: Authenticate authenticates req. On success it returns ctx carrying the
// claims (see [ClaimsFromContext]) and a nil Response; on refusal, the
// Response to write. Skipped paths and anonymous requests allowed by
// [WithOptionalToken] get a context without claims.
func (a *Authenticator) Authenticate(ctx context.Context, req Request) (context.Context, *Response) {
	if len(a.o.skip) > 0 && slices.Contains(a.o.skip, req.Path()) {
		return newSkippedContext(ctx, a), nil
	}
	if br, ok := req.(HeaderBytesRequest); ok && len(a.o.sources) == 1 {
		// A repeated token is found in the cache without copying it out
		// of the framework's buffer; anything else takes the path below.
		if vals := br.HeaderBytes("Authorization"); len(vals) == 1 {
			if c := a.v.cachedBytes(bearer(vals[0])); c != nil {
				if a.v.s.observer != nil {
					a.v.observeValidation(ctx, c, nil, CacheHit)
				}
				return a.accept(ctx, c)
			}
		}
	}
	token, xerr := extract(req, a.o.sources)
	if xerr != nil {
		return ctx, a.reject(ctx, xerr)
	}
	if token == "" {
		if ctx, resp, ok := a.authenticatePoP(ctx, req); ok {
			return ctx, resp
		}
		if a.o.optional {
			// No claims, but guards downstream answer with these options.
			return newContext(ctx, nil, a), nil
		}
		return ctx, a.reject(ctx, errNoToken)
	}
	c, err := a.v.Validate(ctx, token)
	if err != nil {
		return ctx, a.reject(ctx, err)
	}
	return a.accept(ctx, c)
}

// accept applies the default policy and the hooks to validated claims.
func (a *Authenticator) accept(ctx context.Context, c *Claims) (context.Context, *Response) {
	if !a.o.allowNoPermissions && len(c.scopes) == 0 && len(c.roles) == 0 {
		return ctx, a.rejectClaims(ctx, c, &Error{Code: CodeNoScopeOrRole, Description: "the token carries neither scp nor roles (an ID token, or an app without permissions): request an access token for this API's scopes or app roles"})
	}
	if err := a.shapePolicy(c); err != nil {
		return ctx, a.rejectClaims(ctx, c, err)
	}
	if a.o.onAuthenticated != nil {
		a.o.onAuthenticated(ctx, c)
	}
	return newContext(ctx, c, a), nil
}

// Authorize checks the claims in ctx against reqs (all must be met) and
// returns nil, or the Response to write: 401 when the request is anonymous
// (no token, under [WithOptionalToken]), 403 when a requirement is not met, and 500
// when the guard runs on a request the middleware never read.
//
// A guard reached by a request that never passed through the middleware is
// a set-up mistake (the guard is mounted before Authenticate, on a router
// without it, or on a path listed in [WithSkipPaths]). The guard stays closed
// but cannot say anything true about the token, which nothing read: it
// answers 500 (server_error, code "internal") and tells the client nothing
// of the cause. The first such request of each route is logged once, to
// the logger of the most recently built middleware's Validator
// (Config.Logger, else [slog.Default]), so the mistake is visible. Adapters
// use [AuthorizeRoute] so that the line names the route.
func Authorize(ctx context.Context, reqs ...Requirement) *Response {
	return AuthorizeRoute(ctx, "", reqs...)
}

// For adapter authors: AuthorizeRoute is [Authorize] for a guard on route (the router's pattern,
// such as "/api/orders/:id" or "GET /orders/{id}"), which names the route in
// the one log line written when the guard runs without the middleware in
// front of it. The answer never says so: it is a 500 revealing nothing.
func AuthorizeRoute(ctx context.Context, route string, reqs ...Requirement) *Response {
	// One context lookup for both the claims and the authenticator.
	val, _ := ctx.Value(ctxKey{}).(*ctxValue)
	if val == nil || val.skipped {
		a := defaultAuthenticator
		if val == nil {
			warnOnce(&unguarded, route, "entra: a guard ran on a request that did not pass through the authentication middleware, so it refuses every request (500, nothing of the cause): mount Authenticate (or entra.Middleware) in front of the guard, on the same router or group")
		} else {
			a = val.auth
			warnOnce(&skippedGuards, route, "entra: a guard ran on a path listed in WithSkipPaths, whose token the middleware does not read, so it refuses every request (500, nothing of the cause): remove the path from WithSkipPaths or the guard from the route")
		}
		return a.reject(ctx, errGuardUnauthenticated)
	}
	if val.claims == nil {
		return authFromContext(ctx).reject(ctx, errNoToken)
	}
	for _, r := range reqs {
		if err := r.eval(val.claims); err != nil {
			return authFromContext(ctx).rejectClaims(ctx, val.claims, err)
		}
	}
	return nil
}

// errGuardUnauthenticated is the cause of a guard's refusal of a request
// the middleware never read. It is not an *Error, so that the answer is a
// 500 that says nothing of it: the client is not told that no token was
// sent, which nothing checked.
var errGuardUnauthenticated = errors.New("a guard ran on a request the authentication middleware did not read (set-up mistake)")

// onceSet remembers the routes already reported by warnOnce; at most
// maxReportedRoutes are, so a router with routes made from request paths
// cannot grow it without bound.
type onceSet struct {
	seen sync.Map
	n    atomic.Int32
}

const maxReportedRoutes = 64

// unguarded and skippedGuards hold the routes whose guard ran without the
// middleware, or on a skipped path; unreadRoutes those whose handler read
// the claims of a request no middleware saw.
var unguarded, skippedGuards, unreadRoutes onceSet

// firstTime reports whether route is seen for the first time (and the
// set is not full).
func (s *onceSet) firstTime(route string) bool {
	if _, seen := s.seen.Load(route); seen || s.n.Load() >= maxReportedRoutes {
		return false
	}
	if _, seen := s.seen.LoadOrStore(route, struct{}{}); seen {
		return false
	}
	s.n.Add(1)
	return true
}

// warnOnce logs msg with route to the set-up logger ([setupLogger]) the
// first time route is seen in s.
func warnOnce(s *onceSet, route, msg string) {
	if !s.firstTime(route) {
		return
	}
	if route == "" {
		route = "(unnamed: called through Authorize or ClaimsFromContext, which know no route; the adapters' Require and Claims, and ClaimsFromRequest, name it)"
	}
	setupLogger().Warn(msg, "route", route)
}

// setupLog is the logger of a's set-up warnings: [WithLogger]'s, else
// Config.Logger, else slog.Default (read now, so that a later
// slog.SetDefault applies). Unlike refusals, which are per request and
// logged only to a logger the application chose, set-up warnings are few
// and always logged.
func (a *Authenticator) setupLog() *slog.Logger {
	if a.o.logger != nil {
		return a.o.logger // WithLogger's, else Config.Logger (NewAuthenticator)
	}
	return slog.Default()
}

// lastValidator is the Validator of the most recently built middleware
// (adapter, interceptor or Authenticator), whose logger reports set-up
// mistakes found on requests no middleware saw.
var lastValidator atomic.Pointer[Validator]

// setupLogger returns the logger that reports set-up mistakes: the
// Config.Logger of the most recently built middleware's Validator, else
// slog.Default (read now, so that a later slog.SetDefault applies).
func setupLogger() *slog.Logger {
	if v := lastValidator.Load(); v != nil && v.s.ownLogger {
		return v.s.logger
	}
	return slog.Default()
}

// AuthenticateToken is what the middleware does, for a caller that has the
// token already (an OpenAPI framework's security handler, a queue consumer,
// a WebSocket upgrade): it validates token (the compact JWS, without
// "Bearer "), applies the default policy ([WithoutScopeOrRoleCheck] and the
// other options of a) and the hooks, and returns ctx carrying the claims
// (see [ClaimsFromContext]), the claims, and nil. On refusal it returns ctx
// carrying a (no claims), nil claims and the *Error, already reported to
// a's logger and hooks; [ResponseFor](ctx, err), with that ctx, maps it to
// the HTTP answer shaped by a's options. Unlike [Validator.Validate], a token with neither scp nor
// roles is refused with [CodeNoScopeOrRole], an ID token (payload nonce)
// with [CodeIDTokenNotAccepted], and, under [WithoutAgents], an agent's with
// [CodeAgentNotAllowed], as the middleware refuses them.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (context.Context, *Claims, error) {
	var resp *Response
	if token == "" {
		resp = a.reject(ctx, errNoToken)
	} else if c, err := a.v.Validate(ctx, token); err != nil {
		resp = a.reject(ctx, err)
	} else if out, r := a.accept(ctx, c); r != nil {
		resp = r
	} else {
		return out, c, nil
	}
	// Reported already: ResponseFor(refused, err) renders it with a's
	// options and does not report it again.
	resp.Err.reported = true
	return newContext(ctx, nil, a), nil, resp.Err
}

func (a *Authenticator) reject(ctx context.Context, err error) *Response {
	return a.rejectClaims(ctx, claimsOf(ctx), err)
}

// rejectClaims is reject for a request whose claims c (nil if none) are
// known but not yet in ctx.
func (a *Authenticator) rejectClaims(ctx context.Context, c *Claims, err error) *Response {
	r := a.response(err)
	if e := (*Error)(nil); errors.As(err, &e) && e != nil && e.reported {
		return r
	}
	if a.o.logger != nil {
		if id := c.agentLogID(); id != "" {
			// For auditing, as Entra's sign-in logs do; never for authorization.
			a.o.logger.LogAttrs(ctx, slog.LevelInfo, "entra: request refused",
				slog.String("code", string(r.Err.Code)), slog.Int("status", r.Status),
				slog.String("agent_blueprint_app_id", id))
		} else {
			a.o.logger.LogAttrs(ctx, slog.LevelInfo, "entra: request refused",
				slog.String("code", string(r.Err.Code)), slog.Int("status", r.Status))
		}
	}
	if a.o.onRejected != nil {
		a.o.onRejected(ctx, r.Err)
	}
	if a.v != nil && a.v.s.observer != nil {
		code := r.Err.Code
		if r.Status == http.StatusInternalServerError {
			code = CodeInternal
		}
		a.v.s.observer.ObserveRefusal(ctx, RefusalEvent{Code: code, Status: r.Status})
	}
	return r
}

// Middleware returns net/http middleware that authenticates every request
// with v (see [Authenticator.Authenticate]) and refuses the others with
// their RFC 6750 answer. Handlers read the caller with [ClaimsFromRequest]
// (or [ClaimsFromContext]).
// It panics at set-up if v is nil.
func Middleware(v *Validator, opts ...Option) func(http.Handler) http.Handler {
	a := NewAuthenticator(v, opts...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, resp := a.Authenticate(r.Context(), HTTPRequest{r})
			if resp != nil {
				resp.Write(w)
				return
			}
			if ctx != r.Context() {
				r = r.WithContext(ctx)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Middleware returns net/http middleware that lets a request through only
// when the claims put in its context by [Middleware] meet r. Use it per
// route: mux.Handle("GET /orders", entra.RequireScope("Orders.Read").Middleware(h)).
func (r Requirement) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if resp := AuthorizeRoute(req.Context(), req.Pattern, r); resp != nil {
			resp.Write(w)
			return
		}
		next.ServeHTTP(w, req)
	})
}
