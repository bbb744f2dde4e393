package entraconnect_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	specGet    = connect.Spec{Procedure: "/demo.v1.Orders/Get", StreamType: connect.StreamTypeUnary}
	specUpload = connect.Spec{Procedure: "/demo.v1.Orders/Upload", StreamType: connect.StreamTypeClient}
	specWatch  = connect.Spec{Procedure: "/demo.v1.Orders/Watch", StreamType: connect.StreamTypeServer}
	specSecret = connect.Spec{Procedure: "/demo.v1.Orders/Secret", StreamType: connect.StreamTypeUnary}
)

var rules = entra.NewMethodRules().
	Method(specGet.Procedure, entra.RequireScope("Orders.Read")).
	Method(specUpload.Procedure, entra.RequireScope("Orders.Write")).
	Method(specWatch.Procedure)

type (
	str = wrapperspb.StringValue
	num = wrapperspb.Int32Value
)

func username(ctx context.Context) (string, error) {
	c, ok := entra.ClaimsFromContext(ctx)
	if !ok {
		return "", connect.NewError(connect.CodeInternal, "no claims")
	}
	return c.PreferredUsername(), nil
}

// methods are the demo procedures, written as generated code writes them.
func methods() []connect.Method {
	unary := func(answer func(ctx context.Context) (string, error)) connect.ServerFunc {
		return func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
			var req str
			if err := stream.Receive(&req); err != nil {
				return err
			}
			s, err := answer(ctx)
			if err != nil {
				return err
			}
			return stream.Send(wrapperspb.String(s))
		}
	}
	return []connect.Method{
		{Spec: specGet, Handler: unary(username)},
		{Spec: specSecret, Handler: unary(func(context.Context) (string, error) { return "secret", nil })},
		{Spec: specUpload, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
			if _, err := username(ctx); err != nil {
				return err
			}
			n := int32(0)
			for {
				var m str
				err := stream.Receive(&m)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				n++
			}
			return stream.Send(wrapperspb.Int32(n))
		}},
		{Spec: specWatch, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
			var req str
			if err := stream.Receive(&req); err != nil {
				return err
			}
			u, err := username(ctx)
			if err != nil {
				return err
			}
			return stream.Send(wrapperspb.String(u))
		}},
	}
}

// api serves the demo procedures, without code generation, behind the
// interceptor, over TLS with HTTP/2 (which the gRPC protocol needs).
func api(t *testing.T, v *entra.Validator) *httptest.Server {
	t.Helper()
	server := connect.NewServer(entraconnect.New(v, rules))
	server.Register(methods()...)
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

var protocols = []struct {
	name string
	opts []connecthttp.Option
}{
	{"connect", nil},
	{"grpc", []connecthttp.Option{connecthttp.WithGRPC()}},
	{"grpc-web", []connecthttp.Option{connecthttp.WithGRPCWeb()}},
}

// refusal is what a client reads of a refused call.
type refusal struct {
	code      connect.Code
	reason    string
	message   string
	challenge string
	scope     string
	metadata  map[string]string // of the ErrorInfo detail
	retry     time.Duration
	retryHdr  string
}

// read reads the refusal err of the call whose client info is info.
func read(t *testing.T, err error, info *connect.CallInfo) refusal {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a Connect error: %v", err)
	}
	r := refusal{code: ce.Code(), message: ce.Message(), challenge: info.ResponseHeader().Get("Www-Authenticate"), retryHdr: info.ResponseHeader().Get("Retry-After")}
	if vals := info.ResponseHeader().Values("Www-Authenticate"); len(vals) > 1 {
		t.Errorf("%d challenges", len(vals))
	}
	for _, d := range ce.Details() {
		m, err := connectproto.UnmarshalErrorDetail(d)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *errdetails.ErrorInfo:
			if m.Domain != entraconnect.ErrorDomain {
				t.Errorf("domain %q", m.Domain)
			}
			r.reason, r.scope = m.Reason, m.Metadata["scope"]
			r.metadata = m.Metadata
		case *errdetails.RetryInfo:
			r.retry = m.RetryDelay.AsDuration()
		}
	}
	return r
}

func authority(t *testing.T) (*entratest.Server, *entra.Validator) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	return srv, adaptertest.NewReadyValidator(t, srv)
}

func TestProtocols(t *testing.T) {
	auth, v := authority(t)
	srv := api(t, v)
	reader, writer := auth.UserToken("Orders.Read"), auth.UserToken("Orders.Write")

	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL, p.opts...))
			// call calls a unary procedure with these Authorization values.
			call := func(spec connect.Spec, auth ...string) (string, *connect.CallInfo, error) {
				ctx, info := connect.NewClientContext(t.Context())
				for _, a := range auth {
					info.RequestHeader().Add("Authorization", a)
				}
				var res str
				err := client.CallUnary(ctx, spec, wrapperspb.String(""), &res)
				return res.Value, info, err
			}

			unary := []struct {
				name      string
				spec      connect.Spec
				auth      []string
				code      connect.Code
				reason    entra.Code
				message   string
				challenge string
				scope     string
			}{
				{"no token", specGet, nil, connect.CodeUnauthenticated, entra.CodeTokenMissing, "no bearer token was presented: send Authorization: Bearer <token>", `Bearer realm=""`, ""},
				{"garbage token", specGet, []string{"Bearer not-a-jwt"}, connect.CodeUnauthenticated, entra.CodeTokenMalformed, "token is not a JWT: it needs three dot-separated segments", `error="invalid_token"`, ""},
				{"two Authorization headers", specGet, []string{"Bearer " + reader, "Bearer " + reader}, connect.CodeInvalidArgument, entra.CodeInvalidRequest, "the request has more than one Authorization header", `error="invalid_request"`, ""},
				{"scope not met", specGet, []string{"Bearer " + writer}, connect.CodePermissionDenied, entra.CodeForbidden, `the token does not meet the requirement: scope "Orders.Read"`, `scope="Orders.Read"`, "Orders.Read"},
				{"procedure without a rule", specSecret, []string{"Bearer " + reader}, connect.CodePermissionDenied, entra.CodeForbidden, "", `error="insufficient_scope"`, ""},
			}
			for _, tc := range unary {
				t.Run(tc.name, func(t *testing.T) {
					_, info, err := call(tc.spec, tc.auth...)
					r := read(t, err, info)
					if r.code != tc.code || r.reason != string(tc.reason) || r.scope != tc.scope {
						t.Fatalf("got %+v, want %v %s scope %q", r, tc.code, tc.reason, tc.scope)
					}
					if r.message == "" || (tc.message != "" && r.message != tc.message) {
						t.Errorf("message %q, want %q", r.message, tc.message)
					}
					if !strings.HasPrefix(r.challenge, "Bearer ") || !strings.Contains(r.challenge, tc.challenge) {
						t.Errorf("challenge %q, want %q", r.challenge, tc.challenge)
					}
					if strings.Contains(r.message+r.challenge, reader) {
						t.Error("the refusal echoes the token")
					}
				})
			}
			t.Run("scope met", func(t *testing.T) {
				u, _, err := call(specGet, "Bearer "+reader)
				if err != nil || u != auth.UserPrincipalName {
					t.Fatalf("%q %v", u, err)
				}
			})

			send := func(token string) (int32, *connect.CallInfo, error) {
				ctx, info := connect.NewClientContext(t.Context())
				info.RequestHeader().Set("Authorization", "Bearer "+token)
				s, err := client.CallClientStream(ctx, specUpload)
				if err != nil {
					return 0, info, err
				}
				defer s.Close()
				for range 3 {
					if err := s.Send(wrapperspb.String("x")); err != nil {
						break // the refusal is read by Receive
					}
				}
				if err := s.CloseSend(); err != nil {
					return 0, info, err
				}
				var res num
				if err := s.Receive(&res); err != nil {
					return 0, info, err
				}
				return res.Value, info, nil
			}
			t.Run("client streaming: scope met", func(t *testing.T) {
				if n, _, err := send(writer); err != nil || n != 3 {
					t.Fatalf("%d %v", n, err)
				}
			})
			t.Run("client streaming: scope not met", func(t *testing.T) {
				_, info, err := send(reader)
				if r := read(t, err, info); r.code != connect.CodePermissionDenied || r.reason != "forbidden" || r.scope != "Orders.Write" || !strings.Contains(r.challenge, `scope="Orders.Write"`) {
					t.Fatalf("got %+v", r)
				}
			})
			watchAs := func(auth string) (string, *connect.CallInfo, error) {
				ctx, info := connect.NewClientContext(t.Context())
				if auth != "" {
					info.RequestHeader().Set("Authorization", auth)
				}
				s, err := client.CallServerStream(ctx, specWatch, wrapperspb.String(""))
				if err != nil {
					return "", info, err
				}
				defer s.Close()
				var m str
				if err := s.Receive(&m); err != nil {
					return "", info, err
				}
				return m.Value, info, nil
			}
			t.Run("server streaming: any valid token", func(t *testing.T) {
				if u, _, err := watchAs("Bearer " + writer); err != nil || u != auth.UserPrincipalName {
					t.Fatalf("%q %v", u, err)
				}
			})
			t.Run("server streaming: no token", func(t *testing.T) {
				_, info, err := watchAs("")
				if r := read(t, err, info); r.code != connect.CodeUnauthenticated || r.reason != "token_missing" || !strings.HasPrefix(r.challenge, "Bearer realm=") {
					t.Fatalf("got %+v", r)
				}
			})
		})
	}
}

func TestKeysUnavailable(t *testing.T) {
	auth := entratest.NewServer()
	defer auth.Close()
	auth.SetFault(entratest.EndpointJWKS, entratest.RetryAfter(http.StatusServiceUnavailable, 5*time.Second))
	v, err := entra.NewValidator(auth.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv := api(t, v)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx, info := connect.NewClientContext(t.Context())
			info.RequestHeader().Set("Authorization", "Bearer "+auth.UserToken("Orders.Read"))
			client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL, p.opts...))
			err := client.CallUnary(ctx, specGet, wrapperspb.String(""), &str{})
			r := read(t, err, info)
			if r.code != connect.CodeUnavailable || r.reason != string(entra.CodeKeysUnavailable) || r.retry < time.Second || r.challenge != "" {
				t.Fatalf("got %+v", r)
			}
			if r.retryHdr != strconv.Itoa(int(r.retry/time.Second)) {
				t.Errorf("Retry-After %q, RetryInfo %v", r.retryHdr, r.retry)
			}
		})
	}
}

// stream is a ServerStream that records what the handler does with it.
type stream struct {
	msg            *str
	received, sent int
}

func (s *stream) Receive(m any) error {
	s.received++
	if s.received > 1 {
		return io.EOF
	}
	m.(*str).Value = s.msg.Value
	return nil
}
func (s *stream) SendHeaders() error { return nil }
func (s *stream) Send(any) error     { s.sent++; return nil }

// Connect v2 runs the interceptor before any message is read: a refused
// call never reaches the handler, and its message is never received
// (decompressed or decoded). The test drives connect.Server.Call as a
// transport does.
func TestRefusedBeforeTheMessageIsRead(t *testing.T) {
	auth, v := authority(t)
	server := connect.NewServer(entraconnect.New(v, rules))
	server.Register(methods()...)

	callAs := func(procedure string, token string) (*stream, *connect.CallInfo, error) {
		s := &stream{msg: wrapperspb.String("payload")}
		info := &connect.CallInfo{}
		if token != "" {
			info.RequestHeader().Set("Authorization", "Bearer "+token)
		}
		return s, info, server.Call(t.Context(), procedure, info, s)
	}
	for _, tc := range []struct {
		name, procedure, token string
		code                   connect.Code
	}{
		{"no token", specUpload.Procedure, "", connect.CodeUnauthenticated},
		{"scope not met", specUpload.Procedure, auth.UserToken("Orders.Read"), connect.CodePermissionDenied},
		{"procedure without a rule", specSecret.Procedure, auth.UserToken("Orders.Read"), connect.CodePermissionDenied},
		{"unregistered procedure", "/demo.v1.Orders/Unknown", auth.UserToken("Orders.Read"), connect.CodeUnimplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, info, err := callAs(tc.procedure, tc.token)
			if connect.CodeOf(err) != tc.code {
				t.Fatalf("%v, want %v", err, tc.code)
			}
			if s.received != 0 || s.sent != 0 {
				t.Errorf("the refused call's stream was read %d and written %d times", s.received, s.sent)
			}
			if tc.code != connect.CodeUnimplemented && !strings.HasPrefix(info.ResponseHeader().Get("Www-Authenticate"), "Bearer ") {
				t.Errorf("no challenge in the response headers: %v", info.ResponseHeader())
			}
		})
	}
	s, _, err := callAs(specUpload.Procedure, auth.UserToken("Orders.Write"))
	if err != nil || s.received != 2 || s.sent != 1 {
		t.Fatalf("an accepted call: %v, %d receives, %d sends", err, s.received, s.sent)
	}

	// A ServerFunc called without connect.Server (no CallInfo, so no
	// headers) is refused, not let through.
	h := entraconnect.New(v, rules)(func(context.Context, connect.Spec, connect.ServerStream) error {
		t.Error("the handler ran without a token")
		return nil
	})
	if err := h(t.Context(), specGet, &stream{msg: &str{}}); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("without CallInfo: %v", err)
	}
}

// A handler's own refusal (a requirement checked in the handler) answers
// like the interceptor's.
func TestErrorInHandler(t *testing.T) {
	auth, v := authority(t)
	admin := entra.RequireScope("Orders.Admin")
	server := connect.NewServer(entraconnect.New(v, entra.NewMethodRules().Method(specGet.Procedure)))
	server.Register(connect.Method{Spec: specGet, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
		c, _ := entra.ClaimsFromContext(ctx)
		if err := admin.Check(c); err != nil {
			return entraconnect.Error(ctx, err)
		}
		return stream.Send(wrapperspb.String("ok"))
	}})
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL))
	ctx, info := connect.NewClientContext(t.Context())
	info.RequestHeader().Set("Authorization", "Bearer "+auth.UserToken("Orders.Read"))
	r := read(t, client.CallUnary(ctx, specGet, wrapperspb.String(""), &str{}), info)
	if r.code != connect.CodePermissionDenied || r.reason != string(entra.CodeForbidden) || r.scope != "Orders.Admin" || !strings.Contains(r.challenge, `scope="Orders.Admin"`) {
		t.Fatalf("got %+v", r)
	}
}
