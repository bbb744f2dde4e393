package entragrpc_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// A gRPC server whose health service is public and whose TestService
// methods need a token: any valid token for EmptyCall, the Orders.Read
// scope for UnaryCall; every other method is refused (fail closed).
func Example() {
	authority := entratest.NewServer() // a local fake Entra ID
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config()) // entra.ConfigFromEnv() in production
	if err != nil {
		panic(err)
	}
	defer v.Close()

	rules := entra.NewMethodRules().
		Public(entra.HealthService).
		Method("/grpc.testing.TestService/EmptyCall").
		Method("/grpc.testing.TestService/UnaryCall", entra.RequireScope("Orders.Read"))
	g := entragrpc.New(v, rules)
	srv := grpc.NewServer(grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream()))
	testpb.RegisterTestServiceServer(srv, orders{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis := bufconn.Listen(1 << 20) // net.Listen("tcp", ":8443") in production
	go srv.Serve(lis)
	defer srv.Stop()

	conn, _ := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	client := testpb.NewTestServiceClient(conn)
	ctx := context.Background()

	hc, _ := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	fmt.Println("health:", hc.GetStatus())

	_, err = client.EmptyCall(ctx, &testpb.Empty{})
	fmt.Println("no token:", status.Code(err), reason(err))

	user := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+authority.UserToken("Orders.Write"))
	_, err = client.EmptyCall(user, &testpb.Empty{})
	fmt.Println("any token:", status.Code(err))
	var trailer metadata.MD
	_, err = client.UnaryCall(user, &testpb.SimpleRequest{}, grpc.Trailer(&trailer))
	fmt.Println("without the scope:", status.Code(err), reason(err), status.Convert(err).Message())
	ch := trailer.Get("www-authenticate")[0]
	fmt.Println("challenge:", strings.Contains(ch, `error="insufficient_scope"`), strings.Contains(ch, `scope="Orders.Read"`))
	// Output:
	// health: SERVING
	// no token: Unauthenticated token_missing
	// any token: OK
	// without the scope: PermissionDenied forbidden the token does not meet the requirement: scope "Orders.Read"
	// challenge: true true
}

// reason reads the entraguard Code from the status's ErrorInfo detail.
func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.Reason
		}
	}
	return ""
}
