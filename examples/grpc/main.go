// Command grpc is the entraguard gRPC example: a gRPC server whose calls
// need Microsoft Entra ID access tokens, checked by entragrpc's
// interceptors with per-method rules (fail closed). It serves grpc's own
// generated test service, so the example needs no code generation:
//
//	grpc.health.v1.Health                     public (no token)
//	grpc.reflection.v1.ServerReflection       public, so grpcurl can list the services
//	/grpc.testing.TestService/EmptyCall       any valid token
//	/grpc.testing.TestService/UnaryCall       scope Orders.Read; answers the caller's username
//	/grpc.testing.TestService/StreamingInputCall  scope Orders.Write; counts the messages
//	every other method                        refused: PermissionDenied
//
// Run it with ENTRA_TENANT_ID and ENTRA_CLIENT_ID set to your tenant and
// API, or without them (`go run ./examples/grpc`) for demo mode: a local
// Entra ID emulator starts and sample grpcurl commands are printed. ADDR is
// the listen address (default 127.0.0.1:8080).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/reflection"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("grpc example stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("example", "grpc")
	cfg := entra.ConfigFromEnv()
	var emulator *entratest.Server
	if cfg.TenantID == "" {
		emulator = entratest.NewServer()
		defer emulator.Close()
		cfg = emulator.Config()
		log.Warn("demo mode: tokens are checked against a LOCAL EMULATOR, not Microsoft Entra ID; set ENTRA_TENANT_ID and ENTRA_CLIENT_ID to use Entra ID", "emulator", emulator.URL)
	}
	cfg.Logger = log
	v, err := entra.NewValidator(cfg)
	if err != nil {
		return err
	}
	defer v.Close()

	addr := strings.TrimSpace(os.Getenv("ADDR"))
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (set ADDR to change it): %w", addr, err)
	}
	if emulator != nil {
		printDemo(os.Stdout, emulator, ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "tenant", cfg.TenantID, "client_id", cfg.ClientID)
	return serve(ctx, v, ln)
}

// rules: the health and reflection services are public; each TestService
// method has its rule; every other method is refused.
var rules = entra.NewMethodRules().
	Public(entra.HealthService, entra.ReflectionService, entra.ReflectionServiceAlpha).
	Method("/grpc.testing.TestService/EmptyCall").
	Method("/grpc.testing.TestService/UnaryCall", entra.RequireScope("Orders.Read")).
	Method("/grpc.testing.TestService/StreamingInputCall", entra.RequireScope("Orders.Write"))

// serve serves the API on ln until ctx ends, then stops gracefully.
func serve(ctx context.Context, v *entra.Validator, ln net.Listener) error {
	g := entragrpc.New(v, rules)
	srv := grpc.NewServer(grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream()))
	testpb.RegisterTestServiceServer(srv, orders{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		srv.GracefulStop()
	}()
	err := srv.Serve(ln)
	<-stopped
	return err
}

type orders struct {
	testpb.UnimplementedTestServiceServer
}

func (orders) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (orders) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	c, _ := entra.ClaimsFromContext(ctx) // always there: the rule needs a token
	return &testpb.SimpleResponse{Username: c.PreferredUsername()}, nil
}

func (orders) StreamingInputCall(s grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	n := int32(0)
	for {
		_, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: n})
		}
		if err != nil {
			return err
		}
		n++
	}
}

func printDemo(w io.Writer, emulator *entratest.Server, addr string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("entraguard gRPC example: DEMO MODE, tokens of a LOCAL EMULATOR (not Entra ID), valid 1 hour")
	p("")
	p("# A user with Orders.Read: OK and the caller's username")
	p(`grpcurl -plaintext -H "authorization: Bearer %s" %s grpc.testing.TestService/UnaryCall`, emulator.UserToken("Orders.Read"), addr)
	p("# A user without it: PermissionDenied, the reason in the message, ErrorInfo and www-authenticate trailer")
	p(`grpcurl -plaintext -H "authorization: Bearer %s" %s grpc.testing.TestService/UnaryCall`, emulator.UserToken("Profile"), addr)
	p("# No token: Unauthenticated")
	p(`grpcurl -plaintext %s grpc.testing.TestService/EmptyCall`, addr)
	p("# Health needs no token")
	p(`grpcurl -plaintext %s grpc.health.v1.Health/Check`, addr)
}
