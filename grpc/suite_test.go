package entragrpc_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
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
	if s.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.TLS)))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(suiteDesc(s.Service), suiteService{})
	prefix := "/" + s.Service + "/"
	client := func(conn *grpc.ClientConn) adaptertest.RPCClient {
		return adaptertest.RPCClient{
			Call: func(authorization string) adaptertest.RPCResult {
				var tr metadata.MD
				err := conn.Invoke(withAuth(t.Context(), nonEmpty(authorization)...), prefix+"EmptyCall", &testpb.Empty{}, &testpb.Empty{}, grpc.Trailer(&tr))
				return result(t, err, tr)
			},
			CallWith: func(headers http.Header) adaptertest.RPCResult {
				md := metadata.MD{}
				for k, vs := range headers {
					md.Append(k, vs...)
				}
				var tr metadata.MD
				err := conn.Invoke(metadata.NewOutgoingContext(t.Context(), md), prefix+"EmptyCall", &testpb.Empty{}, &testpb.Empty{}, grpc.Trailer(&tr))
				return result(t, err, tr)
			},
			Open: func(authorization string) adaptertest.RPCStream {
				ctx, cancel := context.WithCancel(withAuth(context.Background(), nonEmpty(authorization)...))
				t.Cleanup(cancel)
				st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, prefix+"FullDuplexCall")
				if err != nil {
					t.Fatal(err)
				}
				return func() *adaptertest.RPCResult {
					// After a failed send, RecvMsg reads the status that
					// ended the stream.
					_ = st.SendMsg(&testpb.StreamingOutputCallRequest{})
					err := st.RecvMsg(&testpb.StreamingOutputCallResponse{})
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
	// A loopback port, not an in-memory listener: the peer's address is
	// an IP, which MTLSBinding.TrustedProxies can name.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	dial := func(creds credentials.TransportCredentials) *grpc.ClientConn {
		conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	if s.TLS == nil {
		return client(dial(insecure.NewCredentials()))
	}
	c := adaptertest.RPCClient{}
	c.Dial = func(cfg *tls.Config) adaptertest.RPCClient {
		cfg = cfg.Clone()
		cfg.ServerName = "localhost"
		return client(dial(credentials.NewTLS(cfg)))
	}
	return c
}

// suiteDesc is the service of suiteService named service. Its unary
// handler tells the interceptor the method as called (a generated handler
// names the service's original name).
func suiteDesc(service string) *grpc.ServiceDesc {
	desc := testpb.TestService_ServiceDesc
	desc.ServiceName = service
	desc.Methods = []grpc.MethodDesc{{MethodName: "EmptyCall", Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
		in := new(testpb.Empty)
		if err := dec(in); err != nil {
			return nil, err
		}
		handle := func(ctx context.Context, req any) (any, error) {
			return srv.(suiteService).EmptyCall(ctx, req.(*testpb.Empty))
		}
		if intercept == nil {
			return handle(ctx, in)
		}
		return intercept(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + service + "/EmptyCall"}, handle)
	}}}
	return &desc
}

// result is what a client reads of a call's status (OK for nil).
func result(t *testing.T, err error, tr metadata.MD) adaptertest.RPCResult {
	t.Helper()
	if err == nil {
		return adaptertest.RPCResult{}
	}
	if n := len(tr.Get(entragrpc.TrailerChallenge)); n > 1 {
		t.Errorf("%d challenges", n)
	}
	r := read(t, err, tr)
	return adaptertest.RPCResult{Code: entra.RPCCode(r.code), Reason: r.reason, Message: r.message, Challenge: r.challenge, Metadata: r.metadata, RetryDelay: r.retry}
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

// nonEmpty is the Authorization values of a, none for "".
func nonEmpty(a string) []string {
	if a == "" {
		return nil
	}
	return []string{a}
}
