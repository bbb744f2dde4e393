package entra

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Services that health checkers and tools call without a token; list them
// with [MethodRules.Public] where that is wanted.
const (
	// HealthService is the standard gRPC health service (grpc.health.v1).
	HealthService = "grpc.health.v1.Health"
	// ReflectionService and ReflectionServiceAlpha are gRPC server reflection.
	ReflectionService      = "grpc.reflection.v1.ServerReflection"
	ReflectionServiceAlpha = "grpc.reflection.v1alpha.ServerReflection"
)

// MethodRules decides who may call each method of an RPC server (gRPC or
// Connect). Methods are named as on the wire, "/package.Service/Method";
// services as "package.Service". A method's own rule wins over its
// service's. Fail closed: a method with neither rule is refused with
// [CodeForbidden] before its token is even read, unless it is listed as
// public.
//
// Build the rules once at set-up; they must not change once serving starts.
// The builders panic on a malformed name or a name given a rule twice, as
// those are programming errors.
type MethodRules struct {
	methods  map[string]methodRule
	services map[string]methodRule
}

type methodRule struct {
	public bool
	reqs   []Requirement
}

// NewMethodRules returns rules that refuse every method.
func NewMethodRules() *MethodRules {
	return &MethodRules{methods: map[string]methodRule{}, services: map[string]methodRule{}}
}

// Method sets the rule of one method ("/package.Service/Method"): a valid
// token meeting all of reqs; with no reqs, any valid token.
func (m *MethodRules) Method(fullMethod string, reqs ...Requirement) *MethodRules {
	checkMethodName("Method", fullMethod)
	m.set(m.methods, "method", fullMethod, methodRule{reqs: reqs})
	return m
}

// Service sets the rule of every method of a service ("package.Service")
// that has no rule of its own: a valid token meeting all of reqs; with no
// reqs, any valid token.
func (m *MethodRules) Service(service string, reqs ...Requirement) *MethodRules {
	checkServiceName("Service", service)
	m.set(m.services, "service", service, methodRule{reqs: reqs})
	return m
}

// Public lets calls of these methods ("/package.Service/Method") or
// services ("package.Service") through without a token and without
// reading one: their handlers see no claims. E.g.
// Public(entra.HealthService, entra.ReflectionService).
func (m *MethodRules) Public(names ...string) *MethodRules {
	for _, n := range names {
		if strings.HasPrefix(n, "/") {
			checkMethodName("Public", n)
			m.set(m.methods, "method", n, methodRule{public: true})
		} else {
			checkServiceName("Public", n)
			m.set(m.services, "service", n, methodRule{public: true})
		}
	}
	return m
}

func (m *MethodRules) set(into map[string]methodRule, kind, name string, r methodRule) {
	if m == nil || into == nil {
		panic("entra: MethodRules must be made with NewMethodRules")
	}
	if _, dup := into[name]; dup {
		panic("entra: MethodRules: " + kind + " " + strconv.Quote(name) + " is given a rule twice")
	}
	into[name] = r
}

func checkMethodName(fn, name string) {
	svc, method, ok := splitMethod(name)
	if !ok || svc == "" || method == "" || strings.ContainsAny(method, "/ ") || strings.Contains(svc, " ") {
		panic("entra: MethodRules." + fn + ": " + strconv.Quote(name) + " is not a full method name such as \"/package.Service/Method\"")
	}
}

func checkServiceName(fn, name string) {
	if name == "" || strings.ContainsAny(name, "/ ") {
		panic("entra: MethodRules." + fn + ": " + strconv.Quote(name) + " is not a service name such as \"package.Service\"")
	}
}

// splitMethod splits "/package.Service/Method".
func splitMethod(full string) (service, method string, ok bool) {
	if !strings.HasPrefix(full, "/") {
		return "", "", false
	}
	i := strings.LastIndexByte(full, '/')
	if i == 0 {
		return "", "", false
	}
	return full[1:i], full[i+1:], true
}

// lookup returns the rule for a full method name.
func (m *MethodRules) lookup(full string) (methodRule, bool) {
	if m == nil {
		return methodRule{}, false
	}
	if r, ok := m.methods[full]; ok {
		return r, true
	}
	if svc, _, ok := splitMethod(full); ok {
		if r, ok := m.services[svc]; ok {
			return r, true
		}
	}
	return methodRule{}, false
}

// Check compares the rules with what the server serves and returns an
// error naming each rule, public ones included, whose service or method is
// not served, with the fix (one *Error of Code [CodeConfigInvalid] per rule,
// joined with errors.Join); nil when every rule names something served. Call it at start-up, once every service is registered:
// a rule with a typo in its name covers nothing, so the calls it was meant
// for are refused as having no rule.
//
// served lists full method names ("/package.Service/Method") and service
// names ("package.Service", or "/package.Service/" as Connect's generated
// handlers return it). A service given by name alone has its Service rule
// checked, and its methods' rules only for the service's name. entragrpc's
// Guard.Check and entraconnect's Interceptor.Check call it and log the
// result.
func (m *MethodRules) Check(served ...string) error {
	if m == nil {
		return nil
	}
	type svcInfo struct {
		methods map[string]bool
		all     bool // served as a whole: its methods are not known
	}
	services := map[string]*svcInfo{}
	info := func(name string) *svcInfo {
		s := services[name]
		if s == nil {
			s = &svcInfo{methods: map[string]bool{}}
			services[name] = s
		}
		return s
	}
	for _, n := range served {
		if svc, method, ok := splitMethod(n); ok && method != "" {
			info(svc).methods[method] = true
		} else if n = strings.Trim(n, "/"); n != "" {
			info(n).all = true
		}
	}
	names := make([]string, 0, len(services))
	for n := range services {
		names = append(names, n)
	}
	slices.Sort(names)
	servedList := strings.Join(names, ", ")
	if servedList == "" {
		servedList = "none"
	}
	var problems []error
	problem := func(msg string) {
		problems = append(problems, &Error{Code: CodeConfigInvalid, Description: "MethodRules: " + msg + ": correct the name in the rule (names are case-sensitive, \"/package.Service/Method\" and \"package.Service\" as on the wire), or register the service before checking"})
	}
	for _, svc := range slices.Sorted(maps.Keys(m.services)) {
		if services[svc] == nil {
			problem("the rule for service " + strconv.Quote(svc) + " names no service the server serves (it serves: " + servedList + ")")
		}
	}
	for _, full := range slices.Sorted(maps.Keys(m.methods)) {
		svc, method, _ := splitMethod(full)
		s := services[svc]
		switch {
		case s == nil:
			problem("the rule for method " + strconv.Quote(full) + " names service " + strconv.Quote(svc) + ", which the server does not serve (it serves: " + servedList + ")")
		case !s.all && !s.methods[method]:
			problem("the rule for method " + strconv.Quote(full) + " names no method of " + svc + " (it has: " + strings.Join(slices.Sorted(maps.Keys(s.methods)), ", ") + ")")
		}
	}
	return errors.Join(problems...)
}

// For adapter authors: CheckRules is [MethodRules.Check] for the interceptors: it also logs each
// rule that names nothing served, at Warn, to a's logger ([WithLogger],
// else Config.Logger, else [slog.Default]).
func (a *Authenticator) CheckRules(rules *MethodRules, served ...string) error {
	err := rules.Check(served...)
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			a.setupLog().Warn("entra: " + e.(*Error).Description)
		}
	}
	return err
}

// For adapter authors: Metadata is the request metadata of an RPC: gRPC's metadata.MD
// satisfies it. Get returns every value of a key (given in lower case).
type Metadata interface {
	Get(key string) []string
}

// For adapter authors: HeaderMetadata adapts an http.Header (a Connect request's headers) to
// [Metadata].
type HeaderMetadata http.Header

// Get implements [Metadata].
func (h HeaderMetadata) Get(key string) []string { return http.Header(h).Values(key) }

// rpcRequest presents an RPC's metadata as a [Request]: headers are
// metadata keys, there are no cookies or query, and the path is the method.
type rpcRequest struct {
	md     Metadata
	method string
}

func (r rpcRequest) HeaderValues(name string) []string {
	if r.md == nil {
		return nil
	}
	return r.md.Get(strings.ToLower(name))
}
func (r rpcRequest) Cookie(string) string { return "" }
func (r rpcRequest) Query(string) string  { return "" }
func (r rpcRequest) Path() string         { return r.method }

// noRuleMethods holds the methods already reported as having no rule.
var noRuleMethods onceSet

// errNoRule is the refusal of a method no rule covers.
var errNoRule = &Error{Code: CodeForbidden, Description: "this method has no access rule on the server, so every call is refused"}

// For adapter authors: AuthenticateRPC authenticates and authorizes one call of fullMethod
// ("/package.Service/Method") presenting md, by rules: a method no rule
// covers is refused; a public one passes without claims; otherwise the
// token in the "authorization" metadata (exactly one value, "Bearer
// <token>") is validated as [Authenticator.Authenticate] does (options
// included) and must meet the rule's requirements. On success it returns
// ctx carrying the claims ([ClaimsFromContext]) and nil; on refusal, the
// status to answer with. The gRPC and Connect interceptors call it.
func (a *Authenticator) AuthenticateRPC(ctx context.Context, fullMethod string, md Metadata, rules *MethodRules) (context.Context, *RPCStatus) {
	rule, ok := rules.lookup(fullMethod)
	if !ok {
		if noRuleMethods.firstTime(fullMethod) {
			a.setupLog().Warn("entra: a call of a method that no MethodRules rule covers was refused (PermissionDenied, \"this method has no access rule\"): add a Method, Service or Public rule for it, or correct the name of the rule meant for it (entragrpc's Guard.Check and entraconnect's Interceptor.Check list rules that name nothing served)", "method", fullMethod)
		}
		return ctx, a.reject(ctx, errNoRule).RPCStatus()
	}
	if rule.public {
		return newContext(ctx, nil, a), nil
	}
	ctx, resp := a.Authenticate(ctx, rpcRequest{md: md, method: fullMethod})
	if resp != nil {
		return ctx, resp.RPCStatus()
	}
	if len(rule.reqs) > 0 {
		if resp := Authorize(ctx, rule.reqs...); resp != nil {
			return ctx, resp.RPCStatus()
		}
	}
	return ctx, nil
}

// For adapter authors: WatchCall watches a long-lived call (a gRPC or Connect stream) that a
// authenticated, whose context ctx carries the caller's claims: the
// returned context is cancelled when the caller's token expires, at exp +
// ClockSkew on the Validator's clock ([Config.Now]), or when
// Config.Revocations refuses it. Revocations are checked every
// [WithCallCheckInterval] (default [DefaultCallCheckInterval]): a call
// ends at most that long after its caller is revoked in the list (plus,
// for a shared list such as entraredis, the list's own propagation delay).
// With Config.Now set, expiry is noticed at those checks too, as a timer
// cannot follow a clock it does not know.
//
// The refusal that ended the call is logged and observed as the
// interceptor's own (once), and [CallStatus] returns it: the interceptors
// answer it (Unauthenticated, with the usual details) from the stream's
// next Send or Receive and when the handler returns. A context without
// claims (a public method, an anonymous call) is not watched. stop
// releases the watch; call it when the call ends.
func (a *Authenticator) WatchCall(ctx context.Context) (watched context.Context, stop context.CancelFunc) {
	c := claimsOf(ctx)
	if c == nil || a.v == nil {
		return context.WithCancel(ctx)
	}
	w := &callWatch{}
	inner, cancel := context.WithCancel(ctx)
	wctx := &watchContext{Context: inner, w: w}
	every := a.o.callCheck
	deadline := c.expires.Add(a.v.s.skew)
	go func() {
		for {
			now := a.v.s.now()
			err := error(nil)
			if !now.Before(deadline) {
				err = &Error{Code: CodeTokenExpired, Description: "token expired at " + c.expires.UTC().Format(time.RFC3339) + " during the call: open a new call with a new token"}
			} else {
				err = a.v.revoked(c, now)
			}
			if err != nil {
				w.st.Store(a.reject(ctx, err).RPCStatus())
				cancel()
				return
			}
			wait := every
			if left := deadline.Sub(now); a.v.monoClock && left < wait {
				wait = left
			}
			t := time.NewTimer(wait)
			select {
			case <-inner.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return wctx, cancel
}

// callWatch holds the refusal that ended a watched call.
type callWatch struct{ st atomic.Pointer[RPCStatus] }

type watchKey struct{}

// watchContext is the context of a watched call.
type watchContext struct {
	context.Context
	w *callWatch
}

func (c *watchContext) Value(key any) any {
	if key == (watchKey{}) {
		return c.w
	}
	return c.Context.Value(key)
}

// For adapter authors: CallStatus returns the refusal that ended the call whose context (from
// [Authenticator.WatchCall], or derived from it) is ctx: its token expired
// or its caller was revoked. It returns nil while the call may go on.
func CallStatus(ctx context.Context) *RPCStatus {
	if w, _ := ctx.Value(watchKey{}).(*callWatch); w != nil {
		return w.st.Load()
	}
	return nil
}

// RPCCode is an RPC status code. Its values are gRPC's, which Connect
// shares: convert with codes.Code(c) or connect.Code(c).
type RPCCode uint32

// The status codes of refusals.
const (
	RPCInvalidArgument  RPCCode = 3
	RPCPermissionDenied RPCCode = 7
	RPCInternal         RPCCode = 13
	RPCUnavailable      RPCCode = 14
	RPCUnauthenticated  RPCCode = 16
)

// For adapter authors: RPCStatus is the RPC answer to a refused call, the transport-neutral
// twin of [Response] (from which it is made, so that HTTP, gRPC and Connect
// callers read the same reason):
//   - no token, an invalid token, a claims challenge: Unauthenticated;
//   - a requirement not met: PermissionDenied;
//   - a bad request (two authorization values): InvalidArgument;
//   - keys unavailable: Unavailable with RetryAfter;
//   - anything else: Internal, revealing nothing of the cause.
type RPCStatus struct {
	// Code is the RPC status code.
	Code RPCCode
	// Message is the safe description, the HTTP body's error_description.
	Message string
	// Reason is the refusal's Code ("internal" for Internal), for error
	// details (e.g. google.rpc.ErrorInfo's reason).
	Reason Code
	// Challenge is the WWW-Authenticate value the HTTP answer would carry
	// (with the realm, error, scope...), "" for Unavailable and Internal.
	Challenge string
	// RetryAfter is, for Unavailable, how long to wait before retrying.
	RetryAfter time.Duration
	// Err is the failure answered (a copy: changing it changes nothing else).
	Err *Error
}

// RPCStatus maps the HTTP answer r to its RPC status.
func (r *Response) RPCStatus() *RPCStatus {
	st := &RPCStatus{Err: r.Err, Reason: r.Err.Code, Message: r.Err.Description}
	if st.Message == "" {
		st.Message = string(r.Err.Code)
	}
	switch {
	case r.Status == http.StatusUnauthorized:
		st.Code = RPCUnauthenticated
	case r.Status == http.StatusForbidden:
		st.Code = RPCPermissionDenied
	case r.Status == http.StatusBadRequest:
		st.Code = RPCInvalidArgument
	case r.Status == http.StatusServiceUnavailable:
		st.Code = RPCUnavailable
		secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		st.RetryAfter = time.Duration(max(secs, 1)) * time.Second
	default:
		st.Code = RPCInternal
		st.Reason = CodeInternal
		st.Message = "the request could not be authenticated"
	}
	if st.Code != RPCInternal && st.Code != RPCUnavailable {
		st.Challenge = r.Header.Get("Www-Authenticate")
	}
	return st
}

// For adapter authors: RPCStatusFromContext is [ResponseFor] for RPC handlers: the
// status answering err, shaped by the options of the interceptor that
// authenticated the call whose context is ctx. The refusal is logged and
// observed like the interceptor's own.
func RPCStatusFromContext(ctx context.Context, err error) *RPCStatus {
	return ResponseFor(ctx, err).RPCStatus()
}

// For adapter authors: ErrorInfoMetadata returns the metadata of the
// google.rpc.ErrorInfo detail that the gRPC and Connect interceptors attach
// to the refusal st, so that every RPC adapter says the same: "scope", the
// scopes that would satisfy the rule (space-separated), for
// PermissionDenied; "claims", [RPCStatus.ChallengeClaims], for a claims
// challenge; nil when there is neither.
func (st *RPCStatus) ErrorInfoMetadata() map[string]string {
	if c := st.ChallengeClaims(); c != "" {
		return map[string]string{"claims": c}
	}
	if st != nil && st.Code == RPCPermissionDenied && st.Err != nil && len(st.Err.Scopes) > 0 {
		return map[string]string{"scope": strings.Join(st.Err.Scopes, " ")}
	}
	return nil
}
