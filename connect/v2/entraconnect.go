// Package entraconnect accepts Microsoft Entra ID bearer tokens in Connect
// v2 (connectrpc.com/connect/v2) servers: a server interceptor, for unary
// and every kind of streaming procedure, that reads the Authorization
// header, validates the token with an entraguard Validator, authorizes the
// call by per-procedure rules (fail closed) and puts the claims in the
// handler's context, where entra.ClaimsFromContext reads them.
//
//	rules := entra.NewMethodRules().
//		Service("orders.v1.Orders", entra.RequireScope("Orders.Read")).
//		Method("/orders.v1.Orders/Create", entra.RequireScope("Orders.Write"))
//	i := entraconnect.NewInterceptor(v, rules)
//	server := connect.NewServer(i.Intercept) // or entraconnect.New(v, rules)
//	ordersv1connect.RegisterOrdersHandler(server, svc)
//	if err := i.Check(server); err != nil { // a rule naming nothing registered
//		log.Fatal(err)
//	}
//	connecthttp.Mount(mux, server)
//
// Handlers read the caller with [Claims]. Streams end when their token
// expires or their caller is revoked ([Interceptor.Intercept]); tokens
// bound to a client certificate (MTLS_POP, [entra.WithMTLSBinding]) are
// checked against the TLS connection connecthttp serves the call on.
//
// Connect v2 runs server interceptors before the request message is read,
// so a refused call costs no decompression or decoding: the handler never
// runs and the message is never received.
//
// Refusals are Connect errors, so Connect, gRPC and gRPC-Web clients all
// read why they were refused: the code (Unauthenticated, PermissionDenied,
// InvalidArgument, Unavailable, Internal, mapped as in entragrpc), the safe
// description as message (the HTTP body's error_description), and the
// details and response headers of [Error]. This is the Connect v1 adapter
// (module github.com/entraguard/entraguard/connect) for Connect v2's
// interceptor model; the two answer alike.
package entraconnect

import (
	"context"
	"strconv"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	entra "github.com/entraguard/entraguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of refusals.
const ErrorDomain = "entraguard"

// New returns the server interceptor: pass it to connect.NewServer (it is
// safe for concurrent use). It is NewInterceptor(v, rules, opts...).Intercept;
// use [NewInterceptor] to also [Interceptor.Check] the rules against the
// procedures the server registers.
func New(v *entra.Validator, rules *entra.MethodRules, opts ...entra.Option) connect.ServerInterceptor {
	return NewInterceptor(v, rules, opts...).Intercept
}

// Interceptor authenticates the calls of a connect.Server. Create it once
// with [NewInterceptor]; it is safe for concurrent use.
type Interceptor struct {
	a     *entra.Authenticator
	rules *entra.MethodRules
}

// NewInterceptor returns the interceptor: pass its Intercept method to
// connect.NewServer. Procedures are named as Connect names them,
// "/package.Service/Method", which is what rules hold. opts are the
// middleware's options that apply to RPCs (WithRealm, WithOptionalToken,
// WithoutScopeOrRoleCheck, WithTokenFromHeader, OnAuthenticated, OnRejected,
// WithLogger, WithCallCheckInterval, WithMTLSBinding). A nil rules refuses
// every procedure; a call of a procedure no rule covers is refused and
// logged once per procedure. NewInterceptor panics at set-up if v is nil.
//
//	i := entraconnect.NewInterceptor(v, rules)
//	server := connect.NewServer(i.Intercept)
//	ordersv1connect.RegisterOrdersHandler(server, svc)
//	if err := i.Check(server); err != nil {
//		log.Fatal(err)
//	}
func NewInterceptor(v *entra.Validator, rules *entra.MethodRules, opts ...entra.Option) *Interceptor {
	return &Interceptor{a: entra.NewAuthenticator(v, opts...), rules: rules}
}

// Check compares the interceptor's rules with the procedures registered on
// server (connect.Server.Specs) and logs, through the validator's logger,
// each rule that names a service or procedure not registered (a typo: the
// calls it was meant for are refused as having no rule), with the fix; it
// returns them as an error (see [entra.MethodRules.Check]), nil when every
// rule names something registered. Call it at start-up, after the last
// Register, not while the server serves calls.
func (i *Interceptor) Check(server *connect.Server) error {
	var served []string
	if server != nil {
		for spec := range server.Specs() {
			served = append(served, spec.Procedure)
		}
	}
	return i.a.CheckRules(i.rules, served...)
}

// Intercept is the connect.ServerInterceptor. Each call is authenticated
// once, before the handler runs and reads any message. A call that did
// not come through connect.Server.Call (no CallInfo in its context) has no
// headers, and is refused as carrying no token.
//
// An open stream (any procedure but a unary one) does not outlive its
// token: at exp + ClockSkew, or within [entra.WithCallCheckInterval]
// (default 10 s) of its caller's revocation in Config.Revocations (see
// [entra.Authenticator.WatchCall]), the handler's context is cancelled,
// the stream's next Send or Receive fails, and the call ends with the
// refusal (Unauthenticated, code token_expired or token_revoked, with the
// usual details) whatever the handler returns. A Receive already waiting
// for the client's next message returns when that message comes. Response
// headers may have been sent by then: the challenge travels in the
// response trailers.
//
// With [entra.WithMTLSBinding], the client certificate is read from the
// connection of calls served by connecthttp (its TLS state, or, from an
// MTLSBinding.TrustedProxies address, the certificate the proxy
// forwards), or from the peer [entra.PeerMiddleware] puts in the
// request's context.
func (i *Interceptor) Intercept(next connect.ServerFunc) connect.ServerFunc {
	return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
		var md headerMetadata
		if info, ok := connect.CallInfoForServerContext(ctx); ok {
			md.h = info.RequestHeader()
			// The peer's address counts even without TLS: a trusted proxy
			// that terminates TLS forwards the certificate in a header.
			if i.a.VerifiesCertificateBinding() {
				if si, ok := connecthttp.ServerInfoForContext(ctx); ok {
					ctx = entra.ContextWithPeer(ctx, entra.Peer{Addr: info.PeerAddr, TLS: si.TLS()})
				}
			}
		}
		ctx, st := i.a.AuthenticateRPC(ctx, spec.Procedure, md, i.rules)
		if st != nil {
			return refuse(ctx, st)
		}
		if spec.StreamType == connect.StreamTypeUnary {
			return next(ctx, spec, stream)
		}
		ctx, stop := i.a.WatchCall(ctx)
		defer stop()
		err := next(ctx, spec, &watchedStream{ServerStream: stream, ctx: ctx})
		if st := entra.CallStatus(ctx); st != nil {
			return ended(ctx, st)
		}
		return err
	}
}

// watchedStream is a stream whose Send and Receive fail once its token has
// expired or its caller is revoked.
type watchedStream struct {
	connect.ServerStream
	ctx context.Context
}

func (s *watchedStream) Receive(m any) error {
	if st := entra.CallStatus(s.ctx); st != nil {
		return ended(s.ctx, st)
	}
	err := s.ServerStream.Receive(m)
	if st := entra.CallStatus(s.ctx); st != nil {
		return ended(s.ctx, st)
	}
	return err
}

func (s *watchedStream) Send(m any) error {
	if st := entra.CallStatus(s.ctx); st != nil {
		return ended(s.ctx, st)
	}
	return s.ServerStream.Send(m)
}

func (s *watchedStream) SendHeaders() error {
	if st := entra.CallStatus(s.ctx); st != nil {
		return ended(s.ctx, st)
	}
	return s.ServerStream.SendHeaders()
}

// ended is the error ending a watched stream, its headers set in the
// call's response trailers (the response headers may have been sent).
func ended(ctx context.Context, st *entra.RPCStatus) *connect.Error {
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		setHeaders(info.ResponseTrailer(), st)
	}
	return FromStatus(st)
}

// Claims returns the claims the interceptor put in a handler's context,
// and whether there are any (false for public procedures and anonymous
// calls under [entra.WithOptionalToken]). It is [entra.ClaimsFromContext], but a
// read in a handler the interceptor never ran for (a method registered on
// a connect.Server made without it) is reported once per procedure
// through the validator's logger, naming the procedure (see
// [entra.ClaimsForRoute]): such a procedure is open to anyone.
func Claims(ctx context.Context) (*entra.Claims, bool) {
	var procedure string
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		procedure = info.Spec.Procedure
	}
	return entra.ClaimsForRoute(ctx, procedure)
}

// headerMetadata presents a Connect v2 request's headers as entra.Metadata.
type headerMetadata struct{ h *connect.Header }

// Get implements entra.Metadata; a nil header has no values.
func (m headerMetadata) Get(key string) []string { return m.h.Values(key) }

// FromStatus returns the Connect error of a refusal: its code, the safe
// description as message, and
//   - a google.rpc.ErrorInfo detail with Reason the entraguard Code,
//     Domain [ErrorDomain] and, when a scope would satisfy the rule,
//     Metadata "scope"; for a claims challenge (Unauthenticated, e.g.
//     [entra.RequireAuthContext] for a client with xms_cc "cp1"), Metadata
//     "claims", the challenge's base64 claims request
//     ([entra.RPCStatus.ChallengeClaims]);
//   - a google.rpc.RetryInfo detail for Unavailable.
//
// The interceptor and [Error] also set the response headers
// WWW-Authenticate (the challenge an HTTP answer would carry) and, for
// Unavailable, Retry-After (seconds), on the call's connect.CallInfo. They
// are response headers in every protocol, never trailers: Go's HTTP/2
// server drops WWW-Authenticate from trailers (RFC 9110 forbids it there),
// where the gRPC protocol puts an error's metadata; Retry-After goes with
// it so both are read alike.
func FromStatus(st *entra.RPCStatus) *connect.Error {
	e := connect.NewError(connect.Code(st.Code), st.Message)
	info := &errdetails.ErrorInfo{Reason: string(st.Reason), Domain: ErrorDomain, Metadata: st.ErrorInfoMetadata()}
	details := []proto.Message{info}
	if st.Code == entra.RPCUnavailable {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(st.RetryAfter)})
	}
	for _, m := range details {
		if d, err := connectproto.NewErrorDetail(m); err == nil {
			e = e.WithDetail(d)
		}
	}
	return e
}

// refuse returns the error of a refusal after setting its headers on the
// call's response headers, when the context carries the call's info.
func refuse(ctx context.Context, st *entra.RPCStatus) *connect.Error {
	if info, ok := connect.CallInfoForServerContext(ctx); ok {
		setHeaders(info.ResponseHeader(), st)
	}
	return FromStatus(st)
}

// setHeaders sets the headers of a refusal on h.
func setHeaders(h *connect.Header, st *entra.RPCStatus) {
	if st.Challenge != "" {
		h.Set("Www-Authenticate", st.Challenge)
	}
	if st.Code == entra.RPCUnavailable {
		h.Set("Retry-After", strconv.Itoa(int(st.RetryAfter/time.Second)))
	}
}

// Error returns the Connect error answering err in a handler
// (e.g. an entra.ClaimsChallenge, or a Requirement's Check), shaped by the
// options of the interceptor that authenticated the call, and sets its
// response headers. The refusal is logged and observed like the
// interceptor's own.
func Error(ctx context.Context, err error) *connect.Error {
	return refuse(ctx, entra.RPCStatusFromContext(ctx, err))
}
