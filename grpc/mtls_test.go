package entragrpc_test

import (
	"crypto/tls"
	"net"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// serveTLS starts a gRPC server on a loopback TCP port with TLS transport
// credentials from cfg and the Guard's interceptors.
func serveTLS(t *testing.T, v *entra.Validator, cfg *tls.Config, opts ...entra.Option) string {
	t.Helper()
	g := entragrpc.New(v, rules, opts...)
	sopts := []grpc.ServerOption{grpc.UnaryInterceptor(g.Unary()), grpc.StreamInterceptor(g.Stream())}
	if cfg != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(cfg)))
	}
	srv := grpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(srv, orders{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return lis.Addr().String()
}

func dial(t *testing.T, addr string, creds credentials.TransportCredentials) testpb.TestServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

// Tokens bound to a client certificate (entra.WithMTLSBinding) over real
// TLS: the Guard gives the core the call's peer, with the certificate of
// the connection.
func TestMTLSBinding(t *testing.T) {
	srv, v := authority(t)
	ca := entratest.NewCertAuthority()
	alice, mallory := ca.ClientCertificate("alice"), ca.ClientCertificate("mallory")
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})
	addr := serveTLS(t, v, ca.ServerTLSConfig(), entra.WithMTLSBinding(entra.MTLSBinding{}))
	creds := func(c *tls.Certificate) credentials.TransportCredentials {
		cfg := ca.ClientTLSConfig(c)
		cfg.ServerName = "localhost"
		return credentials.NewTLS(cfg)
	}
	asAlice, asMallory, anonymous := dial(t, addr, creds(&alice)), dial(t, addr, creds(&mallory)), dial(t, addr, creds(nil))

	call := func(c testpb.TestServiceClient, auth string) (refusal, error) {
		var tr metadata.MD
		_, err := c.UnaryCall(withAuth(t.Context(), auth), &testpb.SimpleRequest{}, grpc.Trailer(&tr))
		if err == nil {
			return refusal{}, nil
		}
		return read(t, err, tr), err
	}
	if r, err := call(asAlice, "MTLS_POP "+tok); err != nil {
		t.Fatalf("alice: %+v", r)
	}
	for name, tc := range map[string]struct {
		client testpb.TestServiceClient
		auth   string
		reason entra.Code
	}{
		"other certificate":              {asMallory, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
		"no certificate":                 {anonymous, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
		"Bearer with the certificate":    {asAlice, "Bearer " + tok, entra.CodeTokenBound},
		"unbound token as MTLS_POP":      {asAlice, "MTLS_POP " + srv.UserToken("Orders.Read"), entra.CodeTokenBindingInvalid},
		"Bearer without the certificate": {anonymous, "Bearer " + tok, entra.CodeTokenBound},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := call(tc.client, tc.auth)
			if err == nil || r.code != codes.Unauthenticated || r.reason != string(tc.reason) {
				t.Fatalf("got %+v, want Unauthenticated %q", r, tc.reason)
			}
		})
	}

	// Without TLS there is no certificate to bind to.
	plain := dial(t, serveTLS(t, v, nil, entra.WithMTLSBinding(entra.MTLSBinding{})), insecure.NewCredentials())
	if r, err := call(plain, "MTLS_POP "+tok); err == nil || r.reason != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("plaintext: %+v", r)
	}
	// Streams are authenticated the same way.
	st, err := asAlice.StreamingInputCall(withAuth(t.Context(), "MTLS_POP "+tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseAndRecv(); status.Code(err) != codes.PermissionDenied {
		// Orders.Write is not granted: the binding held, the rule did not.
		t.Fatalf("stream: %v", err)
	}
}
