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
//	server := connect.NewServer(entraconnect.New(v, rules))
//	ordersv1connect.RegisterOrdersHandler(server, svc)
//	connecthttp.Mount(mux, server)
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
	"strings"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
	entra "github.com/entraguard/entraguard/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of refusals.
const ErrorDomain = "entraguard"

// New returns the server interceptor: pass it to connect.NewServer (it is
// safe for concurrent use). Procedures are named as Connect names them,
// "/package.Service/Method", which is what rules hold. opts are the
// middleware's options that apply to RPCs (WithRealm, WithOptionalToken,
// WithoutScopeOrRoleCheck, WithTokenFromHeader, OnAuthenticated, OnRejected,
// WithLogger). A nil rules refuses every procedure. New panics at set-up
// if v is nil.
//
// Each call is authenticated once, before the handler runs and reads any
// message. A call that did not come through connect.Server.Call (no
// CallInfo in its context) has no headers, and is refused as carrying no
// token.
func New(v *entra.Validator, rules *entra.MethodRules, opts ...entra.Option) connect.ServerInterceptor {
	a := entra.NewAuthenticator(v, opts...)
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			var md headerMetadata
			if info, ok := connect.CallInfoForServerContext(ctx); ok {
				md.h = info.RequestHeader()
			}
			ctx, st := a.AuthenticateRPC(ctx, spec.Procedure, md, rules)
			if st != nil {
				return refuse(ctx, st)
			}
			return next(ctx, spec, stream)
		}
	}
}

// headerMetadata presents a Connect v2 request's headers as entra.Metadata.
type headerMetadata struct{ h *connect.Header }

// Get implements entra.Metadata; a nil header has no values.
func (m headerMetadata) Get(key string) []string { return m.h.Values(key) }

// FromStatus returns the Connect error of a refusal: its code, the safe
// description as message, and
//   - a google.rpc.ErrorInfo detail with Reason the entraguard Code,
//     Domain [ErrorDomain] and, when a scope would satisfy the rule,
//     Metadata "scope";
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
	info := &errdetails.ErrorInfo{Reason: string(st.Reason), Domain: ErrorDomain}
	if st.Code == entra.RPCPermissionDenied && st.Err != nil && len(st.Err.Scopes) > 0 {
		info.Metadata = map[string]string{"scope": strings.Join(st.Err.Scopes, " ")}
	}
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
	e := FromStatus(st)
	info, ok := connect.CallInfoForServerContext(ctx)
	if !ok {
		return e
	}
	h := info.ResponseHeader()
	if st.Challenge != "" {
		h.Set("Www-Authenticate", st.Challenge)
	}
	if st.Code == entra.RPCUnavailable {
		h.Set("Retry-After", strconv.Itoa(int(st.RetryAfter/time.Second)))
	}
	return e
}

// Error returns the Connect error answering err in a handler
// (e.g. an entra.ClaimsChallenge, or a Requirement's Check), shaped by the
// options of the interceptor that authenticated the call, and sets its
// response headers. The refusal is logged and observed like the
// interceptor's own.
func Error(ctx context.Context, err error) *connect.Error {
	return refuse(ctx, entra.RPCStatusFromContext(ctx, err))
}
