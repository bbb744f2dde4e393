package entragrpc_test

import (
	"context"
	"net"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The shared behaviour of RPC adapters: rule typos, methods without a
// rule, claims read without the interceptor, streams ended by expiry and
// revocation.
func TestRPCBehaviour(t *testing.T) {
	adaptertest.RunRPCTests(t, adaptertest.RPCAdapter{
		Unary:            "EmptyCall",
		Stream:           "FullDuplexCall",
		Serve:            serveSuite,
		ClaimsFix:        "install the interceptor",
		StreamChallenges: true,
	})
}

// suiteService answers EmptyCall with OK when it finds claims and
// Internal when not, and each message of FullDuplexCall with one message.
type suiteService struct {
	testpb.UnimplementedTestServiceServer
}

func (suiteService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	if _, ok := entragrpc.Claims(ctx); ok {
		return &testpb.Empty{}, nil
	}
	return nil, status.Error(codes.Internal, "no claims")
}

func (suiteService) FullDuplexCall(s grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

func serveSuite(t *testing.T, s adaptertest.RPCServer) adaptertest.RPCClient {
	g := entragrpc.New(s.Validator, s.Rules, s.Options...)
	var opts []grpc.ServerOption
	if !s.Bare {
		opts = append(opts, grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream()))
	}
	srv := grpc.NewServer(opts...)
	desc := testpb.TestService_ServiceDesc
	desc.ServiceName = s.Service
	srv.RegisterService(&desc, suiteService{})
	conn := listenServer(t, srv)
	prefix := "/" + s.Service + "/"
	return adaptertest.RPCClient{
		Call: func(token string) adaptertest.RPCResult {
			var tr metadata.MD
			err := conn.Invoke(withAuth(t.Context(), "Bearer "+token), prefix+"EmptyCall", &testpb.Empty{}, &testpb.Empty{}, grpc.Trailer(&tr))
			return result(t, err, tr)
		},
		Open: func(token string) adaptertest.RPCStream {
			ctx, cancel := context.WithCancel(withAuth(context.Background(), "Bearer "+token))
			t.Cleanup(cancel)
			st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, prefix+"FullDuplexCall")
			if err != nil {
				t.Fatal(err)
			}
			return func() *adaptertest.RPCResult {
				err := st.SendMsg(&testpb.StreamingOutputCallRequest{})
				if err == nil {
					err = st.RecvMsg(&testpb.StreamingOutputCallResponse{})
				} else {
					err = st.RecvMsg(&testpb.StreamingOutputCallResponse{}) // the status that ended the stream
				}
				if err == nil {
					return nil
				}
				r := result(t, err, st.Trailer())
				return &r
			}
		},
		Check: func(rules *entra.MethodRules) error { return entragrpc.New(s.Validator, rules).Check(srv) },
	}
}

// result is what a client reads of a call's status.
func result(t *testing.T, err error, tr metadata.MD) adaptertest.RPCResult {
	t.Helper()
	if err == nil {
		return adaptertest.RPCResult{}
	}
	r := read(t, err, tr)
	return adaptertest.RPCResult{Code: entra.RPCCode(r.code), Reason: r.reason, Challenge: r.challenge}
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
