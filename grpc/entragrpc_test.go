package entragrpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// orders implements part of grpc.testing.TestService: UnaryCall answers
// with the caller's username, StreamingInputCall counts the messages.
type orders struct {
	testpb.UnimplementedTestServiceServer
}

func (orders) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	if _, ok := entra.ClaimsFromContext(ctx); !ok {
		return nil, status.Error(codes.Internal, "no claims")
	}
	return &testpb.Empty{}, nil
}

func (orders) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	c, ok := entra.ClaimsFromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no claims")
	}
	if c.HasScope("Orders.Admin") {
		// A handler's own refusal, answered like the interceptor's.
		return nil, entragrpc.Error(ctx, entra.RequireRole("Admin").Check(c))
	}
	return &testpb.SimpleResponse{Username: c.PreferredUsername()}, nil
}

func (orders) StreamingInputCall(s grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	if _, ok := entra.ClaimsFromContext(s.Context()); !ok {
		return status.Error(codes.Internal, "no claims")
	}
	n := 0
	for {
		if _, err := s.Recv(); err == io.EOF {
			return s.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		} else if err != nil {
			return err
		}
		n++
	}
}

var rules = entra.NewMethodRules().
	Public(entra.HealthService).
	Method("/grpc.testing.TestService/EmptyCall").
	Method("/grpc.testing.TestService/UnaryCall", entra.RequireScope("Orders.Read")).
	Method("/grpc.testing.TestService/StreamingInputCall", entra.RequireScope("Orders.Write"))

// serve starts a gRPC server on an in-memory listener with the Guard's
// interceptors, and returns a client connection to it.
func serve(t *testing.T, v *entra.Validator, opts ...entra.Option) *grpc.ClientConn {
	t.Helper()
	return serveRules(t, v, rules, opts...)
}

func serveRules(t *testing.T, v *entra.Validator, rules *entra.MethodRules, opts ...entra.Option) *grpc.ClientConn {
	t.Helper()
	g := entragrpc.New(v, rules, opts...)
	srv := grpc.NewServer(grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream()))
	testpb.RegisterTestServiceServer(srv, orders{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return listenServer(t, srv)
}

func authority(t *testing.T) (*entratest.Server, *entra.Validator) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	return srv, adaptertest.NewReadyValidator(t, srv)
}

func withAuth(ctx context.Context, values ...string) context.Context {
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}

// refusal is what a client reads of a refused call.
type refusal struct {
	code      codes.Code
	reason    string
	message   string
	challenge string
	scope     string
	metadata  map[string]string // of the ErrorInfo detail
	retry     time.Duration
}

func read(t *testing.T, err error, tr metadata.MD) refusal {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a status: %v", err)
	}
	r := refusal{code: st.Code(), message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.Domain != entragrpc.ErrorDomain {
				t.Errorf("ErrorInfo domain %q", d.Domain)
			}
			r.reason, r.scope = d.Reason, d.Metadata["scope"]
			r.metadata = d.Metadata
		case *errdetails.RetryInfo:
			r.retry = d.RetryDelay.AsDuration()
		}
	}
	if v := tr.Get(entragrpc.TrailerChallenge); len(v) == 1 {
		r.challenge = v[0]
	}
	return r
}

// The refusals that every RPC adapter shares (two authorization values
// included) are in TestRPCBehaviour; these are gRPC's own: a handler's
// own refusal, the claims a handler reads.
func TestUnary(t *testing.T) {
	srv, v := authority(t)
	conn := serve(t, v, entra.WithRealm("orders"))
	client := testpb.NewTestServiceClient(conn)

	cases := []struct {
		name      string
		method    string // "empty" or "unary"
		auth      []string
		code      codes.Code
		reason    entra.Code
		message   string // "" : any non-empty
		challenge string // substring of the www-authenticate trailer
		scope     string
	}{
		{"any valid token", "empty", []string{"Bearer " + srv.UserToken("User.Read")}, codes.OK, "", "", "", ""},
		{"app token", "empty", []string{"Bearer " + srv.AppToken("Orders.Read.All")}, codes.OK, "", "", "", ""},
		{"scope met", "unary", []string{"Bearer " + srv.UserToken("Orders.Read")}, codes.OK, "", "", "", ""},
		{"handler's own refusal", "unary", []string{"Bearer " + srv.UserToken("Orders.Read", "Orders.Admin")}, codes.PermissionDenied, entra.CodeForbidden, `the token does not meet the requirement: role "Admin"`, `realm="orders"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := withAuth(t.Context(), tc.auth...)
			var tr metadata.MD
			var err error
			if tc.method == "empty" {
				_, err = client.EmptyCall(ctx, &testpb.Empty{}, grpc.Trailer(&tr))
			} else {
				var resp *testpb.SimpleResponse
				resp, err = client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Trailer(&tr))
				if err == nil && resp.Username != srv.UserPrincipalName {
					t.Errorf("username %q: the handler did not see the claims", resp.Username)
				}
			}
			if tc.code == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			r := read(t, err, tr)
			if r.code != tc.code || r.reason != string(tc.reason) {
				t.Fatalf("got %v %q (%s), want %v %q", r.code, r.reason, r.message, tc.code, tc.reason)
			}
			if r.message == "" || (tc.message != "" && r.message != tc.message) {
				t.Errorf("message %q, want %q", r.message, tc.message)
			}
			if !strings.Contains(r.challenge, tc.challenge) || !strings.HasPrefix(r.challenge, "Bearer ") {
				t.Errorf("challenge %q, want it to hold %q", r.challenge, tc.challenge)
			}
			if r.scope != tc.scope {
				t.Errorf("scope %q, want %q", r.scope, tc.scope)
			}
			for _, a := range tc.auth {
				if tok := strings.TrimPrefix(a, "Bearer "); len(tok) > 16 && strings.Contains(r.message+r.challenge, tok) {
					t.Error("the refusal echoes the token")
				}
			}
		})
	}
}

func TestStreams(t *testing.T) {
	srv, v := authority(t)
	conn := serve(t, v)
	client := testpb.NewTestServiceClient(conn)

	upload := func(auth string) (int32, metadata.MD, error) {
		ctx := withAuth(t.Context(), auth)
		s, err := client.StreamingInputCall(ctx)
		if err != nil {
			return 0, nil, err
		}
		for range 3 {
			if err := s.Send(&testpb.StreamingInputCallRequest{}); err != nil {
				break // the refusal is read by CloseAndRecv
			}
		}
		resp, err := s.CloseAndRecv()
		if err != nil {
			return 0, s.Trailer(), err
		}
		return resp.AggregatedPayloadSize, s.Trailer(), nil
	}
	t.Run("client streaming: scope met", func(t *testing.T) {
		n, _, err := upload("Bearer " + srv.UserToken("Orders.Write"))
		if err != nil || n != 3 {
			t.Fatalf("n %d, err %v", n, err)
		}
	})
	t.Run("client streaming: scope not met", func(t *testing.T) {
		_, tr, err := upload("Bearer " + srv.UserToken("Orders.Read"))
		r := read(t, err, tr)
		if r.code != codes.PermissionDenied || r.reason != string(entra.CodeForbidden) || r.scope != "Orders.Write" || !strings.Contains(r.challenge, `scope="Orders.Write"`) {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("client streaming: expired", func(t *testing.T) {
		tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Write"}, IssuedAt: time.Now().Add(-3 * time.Hour), NotBefore: time.Now().Add(-3 * time.Hour), ExpiresAt: time.Now().Add(-2 * time.Hour)})
		_, tr, err := upload("Bearer " + tok)
		r := read(t, err, tr)
		if r.code != codes.Unauthenticated || r.reason != string(entra.CodeTokenExpired) || !strings.Contains(r.challenge, `error="invalid_token"`) {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("bidirectional method without a rule", func(t *testing.T) {
		ctx := withAuth(t.Context(), "Bearer "+srv.UserToken("Orders.Read", "Orders.Write"))
		s, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Recv()
		r := read(t, err, s.Trailer())
		if r.code != codes.PermissionDenied || r.reason != string(entra.CodeForbidden) {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("unary method without a rule", func(t *testing.T) {
		_, err := client.CacheableUnaryCall(withAuth(t.Context(), "Bearer "+srv.UserToken("Orders.Read")), &testpb.SimpleRequest{})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatal(err)
		}
	})
	t.Run("public health service, unary and streaming", func(t *testing.T) {
		hc := healthpb.NewHealthClient(conn)
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%v %v", resp, err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := w.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%v %v", m, err)
		}
	})
}

func TestKeysUnavailable(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.RetryAfter(http.StatusServiceUnavailable, 5*time.Second))
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	conn := serve(t, v)
	var tr metadata.MD
	_, err = testpb.NewTestServiceClient(conn).EmptyCall(withAuth(t.Context(), "Bearer "+srv.UserToken("Orders.Read")), &testpb.Empty{}, grpc.Trailer(&tr))
	r := read(t, err, tr)
	if r.code != codes.Unavailable || r.reason != string(entra.CodeKeysUnavailable) || r.retry < time.Second || r.challenge != "" {
		t.Fatalf("got %+v", r)
	}
	if p := tr.Get(entragrpc.TrailerRetryPushback); len(p) != 1 || p[0] != strconv.FormatInt(r.retry.Milliseconds(), 10) {
		t.Errorf("pushback %v, retry %v", p, r.retry)
	}
	if !errors.Is(&entra.Error{Code: entra.Code(r.reason)}, entra.ErrKeysUnavailable) {
		t.Error("reason is not the Code")
	}
}

// A service rule covers every method without its own rule, streaming ones
// included; a method's own rule wins.
func TestServiceRule(t *testing.T) {
	srv, v := authority(t)
	conn := serveRules(t, v, entra.NewMethodRules().
		Service("grpc.testing.TestService", entra.RequireScope("Orders.Read")).
		Method("/grpc.testing.TestService/EmptyCall"))
	client := testpb.NewTestServiceClient(conn)
	if _, err := client.EmptyCall(withAuth(t.Context(), "Bearer "+srv.UserToken("Profile")), &testpb.Empty{}); err != nil {
		t.Errorf("EmptyCall, own rule: %v", err)
	}
	if _, err := client.UnaryCall(withAuth(t.Context(), "Bearer "+srv.UserToken("Profile")), &testpb.SimpleRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("UnaryCall without the service's scope: %v", err)
	}
	if _, err := client.UnaryCall(withAuth(t.Context(), "Bearer "+srv.UserToken("Orders.Read")), &testpb.SimpleRequest{}); err != nil {
		t.Errorf("UnaryCall with the service's scope: %v", err)
	}
	s, err := client.StreamingInputCall(withAuth(t.Context(), "Bearer "+srv.UserToken("Orders.Read")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseAndRecv(); err != nil {
		t.Errorf("StreamingInputCall with the service's scope: %v", err)
	}
	// The health service has no rule here: closed.
	if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("health without a rule: %v", err)
	}
}

// Options of the middleware apply: another metadata key, anonymous calls.
func TestOptions(t *testing.T) {
	srv, v := authority(t)
	conn := serve(t, v, entra.WithTokenFromHeader("x-api-token"), entra.WithOptionalToken())
	client := testpb.NewTestServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "x-api-token", srv.UserToken("Orders.Read"))
	if r, err := client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil || r.Username != srv.UserPrincipalName {
		t.Errorf("token in x-api-token: %v %v", r, err)
	}
	both := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+srv.UserToken("Orders.Read"))
	if _, err := client.UnaryCall(both, &testpb.SimpleRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a token in two places: %v", err)
	}
	// Optional: an anonymous call passes a rule without requirements (the
	// handler sees no claims) but not one with requirements.
	if _, err := client.EmptyCall(t.Context(), &testpb.Empty{}); status.Code(err) != codes.Internal || status.Convert(err).Message() != "no claims" {
		t.Errorf("anonymous EmptyCall under WithOptionalToken: %v", err)
	}
	if _, err := client.UnaryCall(t.Context(), &testpb.SimpleRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous UnaryCall under WithOptionalToken: %v", err)
	}
}
