package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExample serves the example on a loopback TCP port against a fake
// authority and calls it as a client would.
func TestExample(t *testing.T) {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, v, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)
	as := func(token string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+token)
	}

	if r, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", r, err)
	}
	if _, err := client.EmptyCall(t.Context(), &testpb.Empty{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if _, err := client.EmptyCall(as(authority.AppToken("Any")), &testpb.Empty{}); err != nil {
		t.Errorf("any token: %v", err)
	}
	r, err := client.UnaryCall(as(authority.UserToken("Orders.Read")), &testpb.SimpleRequest{})
	if err != nil || r.Username != authority.UserPrincipalName {
		t.Errorf("UnaryCall with the scope: %v %v", r, err)
	}
	var tr metadata.MD
	_, err = client.UnaryCall(as(authority.UserToken("Profile")), &testpb.SimpleRequest{}, grpc.Trailer(&tr))
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(strings.Join(tr.Get("www-authenticate"), ""), `scope="Orders.Read"`) {
		t.Errorf("UnaryCall without the scope: %v, trailer %v", err, tr)
	}
	s, err := client.StreamingInputCall(as(authority.UserToken("Orders.Write")))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Send(&testpb.StreamingInputCallRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := s.CloseAndRecv(); err != nil || r.AggregatedPayloadSize != 2 {
		t.Errorf("StreamingInputCall: %v %v", r, err)
	}
	if _, err := client.CacheableUnaryCall(as(authority.UserToken("Orders.Read")), &testpb.SimpleRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a method without a rule: %v", err)
	}
}

// The demo's sample commands name the address and carry tokens.
func TestPrintDemo(t *testing.T) {
	authority := entratest.NewServer()
	defer authority.Close()
	var b bytes.Buffer
	printDemo(&b, authority, "127.0.0.1:9999")
	if n := strings.Count(b.String(), "grpcurl -plaintext"); n != 4 || !strings.Contains(b.String(), "127.0.0.1:9999 grpc.testing.TestService/UnaryCall") {
		t.Errorf("demo output:\n%s", b.String())
	}
}
