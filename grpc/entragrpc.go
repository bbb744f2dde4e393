// Package entragrpc accepts Microsoft Entra ID bearer tokens in gRPC
// servers: unary and stream server interceptors that read the
// "authorization" metadata, validate the token with an entraguard
// Validator, authorize the call by per-method rules (fail closed) and put
// the claims in the handler's context, where entra.ClaimsFromContext reads
// them.
//
//	rules := entra.NewMethodRules().
//		Public(entra.HealthService).
//		Service("orders.v1.Orders", entra.RequireScope("Orders.Read")).
//		Method("/orders.v1.Orders/Create", entra.RequireScope("Orders.Write"))
//	g := entragrpc.New(v, rules)
//	srv := grpc.NewServer(grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream()))
//
// Refusals answer as the HTTP middleware would, translated to gRPC:
// Unauthenticated (no token, invalid token), PermissionDenied (a rule not
// met, or a method without a rule), InvalidArgument (two authorization
// values), Unavailable (signing keys not loaded yet; retry) and Internal.
// The status message is the same safe description as the HTTP body's
// error_description; see [Status] for the details and trailers.
package entragrpc

import (
	"context"
	"strconv"
	"sync/atomic"

	entra "github.com/entraguard/entraguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of refusals.
const ErrorDomain = "entraguard"

// Trailer keys set on refusals.
const (
	// TrailerChallenge carries the WWW-Authenticate challenge an HTTP
	// answer would carry (realm, error, error_description, scope...).
	TrailerChallenge = "www-authenticate"
	// TrailerRetryPushback is gRPC's retry pushback, in milliseconds, set
	// with Unavailable so that clients with a retry policy wait that long.
	TrailerRetryPushback = "grpc-retry-pushback-ms"
)

// Guard holds the interceptors of one Validator and one set of rules.
// Create it once with [New]; it is safe for concurrent use.
type Guard struct {
	a     *entra.Authenticator
	rules *entra.MethodRules
}

// New returns the interceptors' Guard. opts are the middleware's options
// that apply to RPCs (WithRealm, WithOptionalToken, WithoutScopeOrRoleCheck,
// WithTokenFromHeader for another metadata key, OnAuthenticated,
// OnRejected, WithLogger, WithCallCheckInterval, and WithMTLSBinding, which
// reads the call's peer: its TLS state under TLS transport credentials);
// cookie and query sources never match. A nil
// rules refuses every method. New panics at set-up if v is nil.
func New(v *entra.Validator, rules *entra.MethodRules, opts ...entra.Option) *Guard {
	return &Guard{a: entra.NewAuthenticator(v, opts...), rules: rules}
}

// Check compares the Guard's rules with the services registered on srv and
// logs, through the validator's logger, each rule that names a service or
// method srv does not serve (a typo: the calls it was meant for are
// refused as having no rule), with the fix; it returns them as an error
// (see [entra.MethodRules.Check]), nil when every rule names something
// served. Call it at start-up, after registering every service:
//
//	if err := g.Check(srv); err != nil {
//		log.Fatal(err)
//	}
func (g *Guard) Check(srv *grpc.Server) error {
	var served []string
	for svc, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			served = append(served, "/"+svc+"/"+m.Name)
		}
	}
	return g.a.CheckRules(g.rules, served...)
}

// authenticate checks one call and returns the handler's context, or the
// status error to answer with after setting the trailers through setTrailer.
func (g *Guard) authenticate(ctx context.Context, method string, setTrailer func(metadata.MD)) (context.Context, error) {
	md := incoming{ctx}
	if g.a.VerifiesCertificateBinding() {
		ctx = withPeer(ctx) // mtls.go
	}
	ctx, st := g.a.AuthenticateRPC(ctx, method, md, g.rules)
	if st == nil {
		return ctx, nil
	}
	if tr := Trailer(st); len(tr) > 0 {
		setTrailer(tr)
	}
	return ctx, FromStatus(st).Err()
}

// incoming presents a call's incoming metadata as entra.Metadata. It reads
// only the keys the core asks for (metadata.FromIncomingContext would copy
// every key and value of every call).
type incoming struct{ ctx context.Context }

// Get implements entra.Metadata.
func (m incoming) Get(key string) []string { return metadata.ValueFromIncomingContext(m.ctx, key) }

// Unary returns the unary server interceptor.
func (g *Guard) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := g.authenticate(ctx, info.FullMethod, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) })
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream returns the stream server interceptor (server, client and
// bidirectional streaming). The call is authenticated once, before the
// handler runs and before any message is read.
//
// An open stream does not outlive its token: at exp + ClockSkew, or within
// [entra.WithCallCheckInterval] (default 10 s) of its caller's revocation
// in Config.Revocations (see [entra.Authenticator.WatchCall]), the
// handler's context is cancelled, the stream's next SendMsg or RecvMsg
// fails, and the call ends with the refusal (Unauthenticated, code
// token_expired or token_revoked, with the usual details and trailer)
// whatever the handler returns.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := g.authenticate(ss.Context(), info.FullMethod, ss.SetTrailer)
		if err != nil {
			return err
		}
		ctx, stop := g.a.WatchCall(ctx)
		defer stop()
		ws := &stream{ServerStream: ss, ctx: ctx}
		err = handler(srv, ws)
		if st := entra.CallStatus(ctx); st != nil {
			return ws.end(st)
		}
		return err
	}
}

type stream struct {
	grpc.ServerStream
	ctx   context.Context
	ended atomic.Bool
}

// end answers st, the refusal that ended a watched stream, setting its
// trailer once.
func (s *stream) end(st *entra.RPCStatus) error {
	if s.ended.CompareAndSwap(false, true) {
		if tr := Trailer(st); len(tr) > 0 {
			s.SetTrailer(tr)
		}
	}
	return FromStatus(st).Err()
}

func (s *stream) Context() context.Context { return s.ctx }

// SendMsg fails once the call's token has expired or its caller is revoked.
func (s *stream) SendMsg(m any) error {
	if st := entra.CallStatus(s.ctx); st != nil {
		return s.end(st)
	}
	return s.ServerStream.SendMsg(m)
}

// RecvMsg fails once the call's token has expired or its caller is
// revoked, also when a message arrived meanwhile.
func (s *stream) RecvMsg(m any) error {
	if st := entra.CallStatus(s.ctx); st != nil {
		return s.end(st)
	}
	err := s.ServerStream.RecvMsg(m)
	if st := entra.CallStatus(s.ctx); st != nil {
		return s.end(st)
	}
	return err
}

// Claims returns the claims the interceptors put in a handler's context,
// and whether there are any (false for public methods and anonymous calls
// under [entra.WithOptionalToken]). It is [entra.ClaimsFromContext], but a read in a
// handler the interceptors never ran for (the server was given the Unary
// interceptor but not the Stream one, or none) is reported once per method
// through the validator's logger, naming the method (see
// [entra.ClaimsForRoute]): such a method is open to anyone.
func Claims(ctx context.Context) (*entra.Claims, bool) {
	method, _ := grpc.Method(ctx)
	return entra.ClaimsForRoute(ctx, method)
}

// FromStatus returns the gRPC status of a refusal: its code, the safe
// description as message, and details every gRPC client can read:
//   - google.rpc.ErrorInfo with Reason the entraguard Code (e.g.
//     "token_expired"), Domain [ErrorDomain], and, when a scope would
//     satisfy the rule, Metadata "scope" (space-separated); for a claims
//     challenge (Unauthenticated, e.g. [entra.RequireAuthContext] for a
//     client with xms_cc "cp1"), Metadata "claims", the challenge's base64
//     claims request ([entra.RPCStatus.ChallengeClaims]);
//   - google.rpc.RetryInfo with the delay, for Unavailable.
func FromStatus(st *entra.RPCStatus) *status.Status {
	s := status.New(codes.Code(st.Code), st.Message)
	info := &errdetails.ErrorInfo{Reason: string(st.Reason), Domain: ErrorDomain, Metadata: st.ErrorInfoMetadata()}
	details := []protoadapt.MessageV1{info}
	if st.Code == entra.RPCUnavailable {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(st.RetryAfter)})
	}
	if d, err := s.WithDetails(details...); err == nil {
		s = d
	}
	return s
}

// Trailer returns the trailer of a refusal: [TrailerChallenge] when the
// HTTP answer would carry WWW-Authenticate, [TrailerRetryPushback] for
// Unavailable.
func Trailer(st *entra.RPCStatus) metadata.MD {
	md := metadata.MD{}
	if st.Challenge != "" {
		md.Set(TrailerChallenge, st.Challenge)
	}
	if st.Code == entra.RPCUnavailable {
		md.Set(TrailerRetryPushback, strconv.FormatInt(st.RetryAfter.Milliseconds(), 10))
	}
	return md
}

// Error returns the status error answering err in a handler (e.g. an
// entra.ClaimsChallenge, or a Requirement's Check), shaped by the options
// of the Guard that authenticated the call; it sets the refusal's trailer
// on ctx's call. The refusal is logged and observed like the Guard's own.
func Error(ctx context.Context, err error) error {
	st := entra.RPCStatusFromContext(ctx, err)
	if tr := Trailer(st); len(tr) > 0 {
		_ = grpc.SetTrailer(ctx, tr)
	}
	return FromStatus(st).Err()
}
