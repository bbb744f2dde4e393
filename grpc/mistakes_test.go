package entragrpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// syncBuffer is a log sink safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loggedValidator is a ready validator for srv whose logger writes to logs.
func loggedValidator(t *testing.T, srv *entratest.Server, logs *syncBuffer) *entra.Validator {
	t.Helper()
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v
}

// runs makes service names unique to one run of a test: a method is
// reported once per process, and go test -count=N runs a test N times in one.
var runs atomic.Int32

// freshService returns a service name no earlier run used.
func freshService() string { return fmt.Sprintf("r%d.TestService", runs.Add(1)) }

// claimsReader answers EmptyCall with an error saying whether it found claims.
type claimsReader struct {
	testpb.UnimplementedTestServiceServer
}

func (claimsReader) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	if _, ok := entragrpc.Claims(ctx); ok {
		return &testpb.Empty{}, nil
	}
	return nil, status.Error(codes.Internal, "no claims")
}

// listenServer serves srv on an in-memory listener and returns a client.
func listenServer(t *testing.T, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return conn
}

// A handler that reads claims on a call the interceptors never saw (here a
// Guard was built but the server was given no interceptor) is reported once
// per method, naming it, through the validator's logger.
func TestClaimsWithoutInterceptorAreReported(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs syncBuffer
	v := loggedValidator(t, auth, &logs)
	svc := freshService()
	_ = entragrpc.New(v, entra.NewMethodRules().Service(svc)) // built, never installed
	srv := grpc.NewServer()
	desc := testpb.TestService_ServiceDesc
	desc.ServiceName = svc
	srv.RegisterService(&desc, claimsReader{})
	conn := listenServer(t, srv)
	method := "/" + svc + "/EmptyCall"
	tok := auth.UserToken("Orders.Read")
	for range 2 {
		err := conn.Invoke(withAuth(t.Context(), "Bearer "+tok), method, &testpb.Empty{}, &testpb.Empty{})
		if status.Code(err) != codes.Internal {
			t.Fatalf("the handler found claims nothing validated: %v", err)
		}
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "route="+method) || !strings.Contains(out, "install the interceptor") {
		t.Errorf("the line does not name the method %s and the fix:\n%s", method, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token reached the log")
	}
}

// A rule whose service name has a typo is reported at start-up by Check,
// and each call of a method no rule covers is logged once, naming it.
func TestRuleTyposAreReported(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs syncBuffer
	v := loggedValidator(t, auth, &logs)
	svc := freshService()
	rules := entra.NewMethodRules().
		Public(entra.HealthService).
		Service(strings.Replace(svc, "TestService", "TestServce", 1), entra.RequireScope("Orders.Read")). // the typo
		Method("/" + svc + "/UnaryCall")
	g := entragrpc.New(v, rules)
	srv := grpc.NewServer(grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream()))
	desc := testpb.TestService_ServiceDesc
	desc.ServiceName = svc
	srv.RegisterService(&desc, claimsReader{})
	healthpb.RegisterHealthServer(srv, health.NewServer())

	err := g.Check(srv)
	if !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), `"`+strings.Replace(svc, "TestService", "TestServce", 1)+`" names no service the server serves`) {
		t.Fatalf("Check = %v, want the typo named", err)
	}
	if strings.Contains(err.Error(), "UnaryCall") || strings.Contains(err.Error(), `"grpc.health.v1.Health"`) {
		t.Errorf("Check reports rules that name served methods: %v", err)
	}
	if n := strings.Count(logs.String(), "names no service the server serves"); n != 1 {
		t.Errorf("Check logged %d lines, want 1:\n%s", n, logs.String())
	}

	conn := listenServer(t, srv)
	// A streaming method: the stream interceptor is told the method as
	// called (a generated unary handler names its service's original name).
	method := "/" + svc + "/StreamingInputCall"
	for range 3 {
		s, err := conn.NewStream(withAuth(t.Context(), "Bearer "+auth.UserToken("Orders.Read")), &grpc.StreamDesc{ClientStreams: true}, method)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.CloseSend()
		if err := s.RecvMsg(&testpb.StreamingInputCallResponse{}); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("a method without a rule: %v, want PermissionDenied", err)
		}
	}
	if n := strings.Count(logs.String(), "method="+method); n != 1 {
		t.Errorf("the method without a rule was logged %d times, want once:\n%s", n, logs.String())
	}

	good := entragrpc.New(v, entra.NewMethodRules().Public(entra.HealthService).Service(svc))
	if err := good.Check(srv); err != nil {
		t.Errorf("rules naming registered services: %v", err)
	}
}
