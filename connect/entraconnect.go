// Package entraconnect accepts Microsoft Entra ID bearer tokens in Connect
// (connectrpc.com/connect) handlers: an interceptor, for unary and every
// kind of streaming procedure, that reads the Authorization header,
// validates the token with an entraguard Validator, authorizes the call by
// per-procedure rules (fail closed) and puts the claims in the handler's
// context, where entra.ClaimsFromContext reads them.
//
//	rules := entra.NewMethodRules().
//		Service("orders.v1.Orders", entra.RequireScope("Orders.Read")).
//		Method("/orders.v1.Orders/Create", entra.RequireScope("Orders.Write"))
//	path, h := ordersv1connect.NewOrdersHandler(svc,
//		connect.WithInterceptors(entraconnect.New(v, rules)))
//
// Refusals are Connect errors, so Connect, gRPC and gRPC-Web clients all
// read why they were refused: the code (Unauthenticated, PermissionDenied,
// InvalidArgument, Unavailable, Internal, mapped as in entragrpc), the safe
// description as message (the HTTP body's error_description), and the
// details and metadata of [Error].
package entraconnect

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	entra "github.com/entraguard/entraguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of refusals.
const ErrorDomain = "entraguard"

// Interceptor is a connect.Interceptor for handlers. On clients it does
// nothing. Create it once with [New]; it is safe for concurrent use.
type Interceptor struct {
	a     *entra.Authenticator
	rules *entra.MethodRules
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New returns the interceptor. Procedures are named as Connect names them,
// "/package.Service/Method", which is what rules hold. opts are the
// middleware's options that apply to RPCs (WithRealm, WithOptionalToken,
// WithoutScopeOrRoleCheck, WithTokenFromHeader, OnAuthenticated, OnRejected,
// WithLogger, WithCallCheckInterval, and WithMTLSBinding, which needs the
// handlers wrapped in entra.PeerMiddleware to see the connection). A nil
// rules refuses every procedure. New panics at set-up if v is nil.
func New(v *entra.Validator, rules *entra.MethodRules, opts ...entra.Option) *Interceptor {
	return &Interceptor{a: entra.NewAuthenticator(v, opts...), rules: rules}
}

// Check compares the interceptor's rules with what the server serves and
// logs, through the validator's logger, each rule that names a service or
// procedure not served (a typo: the calls it was meant for are refused as
// having no rule), with the fix; it returns them as an error (see
// [entra.MethodRules.Check]), nil when every rule names something served.
// served lists procedures ("/package.Service/Method", the generated
// ...Procedure constants) or the paths the generated New...Handler
// functions return ("/package.Service/"); for a service given by its path
// alone, rules are checked against its name only. Call it at start-up:
//
//	path, h := ordersv1connect.NewOrdersHandler(svc, connect.WithInterceptors(i))
//	if err := i.Check(path, ordersv1connect.OrdersGetProcedure); err != nil {
//		log.Fatal(err)
//	}
func (i *Interceptor) Check(served ...string) error {
	return i.a.CheckRules(i.rules, served...)
}

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, st := i.a.AuthenticateRPC(ctx, req.Spec().Procedure, entra.HeaderMetadata(req.Header()), i.rules)
		if st != nil {
			return nil, refuse(ctx, nil, st)
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor: clients are not checked.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor. The call is
// authenticated once, before the handler runs and reads any message.
//
// An open stream does not outlive its token: at exp + ClockSkew, or within
// [entra.WithCallCheckInterval] (default 10 s) of its caller's revocation
// in Config.Revocations (see [entra.Authenticator.WatchCall]), the
// handler's context is cancelled, the stream's next Send or Receive fails,
// and the call ends with the refusal (Unauthenticated, code token_expired
// or token_revoked, with the usual details) whatever the handler returns.
// Response headers may have been sent by then: the challenge travels in
// the error's metadata.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, st := i.a.AuthenticateRPC(ctx, conn.Spec().Procedure, entra.HeaderMetadata(conn.RequestHeader()), i.rules)
		if st != nil {
			return refuse(ctx, conn.ResponseHeader(), st)
		}
		ctx, stop := i.a.WatchCall(ctx)
		defer stop()
		err := next(ctx, &watchedConn{StreamingHandlerConn: conn, ctx: ctx})
		if st := entra.CallStatus(ctx); st != nil {
			return ended(st)
		}
		return err
	}
}

// watchedConn is a stream whose Send and Receive fail once its token has
// expired or its caller is revoked.
type watchedConn struct {
	connect.StreamingHandlerConn
	ctx context.Context
}

func (c *watchedConn) Receive(m any) error {
	if st := entra.CallStatus(c.ctx); st != nil {
		return ended(st)
	}
	err := c.StreamingHandlerConn.Receive(m)
	if st := entra.CallStatus(c.ctx); st != nil {
		return ended(st)
	}
	return err
}

func (c *watchedConn) Send(m any) error {
	if st := entra.CallStatus(c.ctx); st != nil {
		return ended(st)
	}
	return c.StreamingHandlerConn.Send(m)
}

// ended is the error ending a watched stream, its headers in its metadata.
func ended(st *entra.RPCStatus) *connect.Error {
	e := FromStatus(st)
	setHeaders(e.Meta(), st)
	return e
}

// Claims returns the claims the interceptor put in a handler's context,
// and whether there are any (false for public procedures and anonymous
// calls under [entra.WithOptionalToken]). It is [entra.ClaimsFromContext], but a
// read in a handler the interceptor never ran for (a handler built without
// connect.WithInterceptors) is reported once per procedure through the
// validator's logger, naming the procedure (see [entra.ClaimsForRoute]):
// such a procedure is open to anyone.
func Claims(ctx context.Context) (*entra.Claims, bool) {
	var procedure string
	if ci, ok := connect.CallInfoForHandlerContext(ctx); ok {
		procedure = ci.Spec().Procedure
	}
	return entra.ClaimsForRoute(ctx, procedure)
}

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
// Unavailable, Retry-After (seconds). They are response headers in every
// protocol, never trailers: Go's HTTP/2 server drops WWW-Authenticate from
// trailers (RFC 9110 forbids it there), where the gRPC protocol puts an
// error's metadata; Retry-After goes with it so both are read alike.
func FromStatus(st *entra.RPCStatus) *connect.Error {
	e := connect.NewError(connect.Code(st.Code), errors.New(st.Message))
	info := &errdetails.ErrorInfo{Reason: string(st.Reason), Domain: ErrorDomain, Metadata: st.ErrorInfoMetadata()}
	details := []proto.Message{info}
	if st.Code == entra.RPCUnavailable {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(st.RetryAfter)})
	}
	for _, m := range details {
		if d, err := connect.NewErrorDetail(m); err == nil {
			e.AddDetail(d)
		}
	}
	return e
}

// refuse returns the error of a refusal after setting its headers on h, or,
// when h is nil, on the handler's call info (or else in the error's metadata).
func refuse(ctx context.Context, h http.Header, st *entra.RPCStatus) *connect.Error {
	e := FromStatus(st)
	if h == nil {
		if ci, ok := connect.CallInfoForHandlerContext(ctx); ok {
			h = ci.ResponseHeader()
		} else {
			h = e.Meta()
		}
	}
	setHeaders(h, st)
	return e
}

// setHeaders sets the headers of a refusal on h.
func setHeaders(h http.Header, st *entra.RPCStatus) {
	if st.Challenge != "" {
		h.Set("Www-Authenticate", st.Challenge)
	}
	if st.Code == entra.RPCUnavailable {
		h.Set("Retry-After", strconv.Itoa(int(st.RetryAfter/time.Second)))
	}
}

// Error returns the Connect error answering err in a unary
// handler (e.g. an entra.ClaimsChallenge, or a Requirement's Check), shaped
// by the options of the interceptor that authenticated the call, and sets
// its response headers. The refusal is logged and observed like the
// interceptor's own.
func Error(ctx context.Context, err error) *connect.Error {
	return refuse(ctx, nil, entra.RPCStatusFromContext(ctx, err))
}
