package entraconnect_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// mtlsServer is the demo server behind the interceptor with WithMTLSBinding.
func mtlsServer(v *entra.Validator) *connect.Server {
	server := connect.NewServer(entraconnect.New(v, rules, entra.WithMTLSBinding(entra.MTLSBinding{})))
	server.Register(methods()...)
	return server
}

// The binding is in the shared suite (TestRPCBehaviour), where the
// interceptor reads the connection from connecthttp's ServerInfo. Wrapped
// in entra.PeerMiddleware too (as the Connect v1 adapter needs), the two
// agree; a transport that is not HTTP (Server.Call without connecthttp's
// ServerInfo) cannot tell the connection: refused, saying what to add.
func TestMTLSBindingTransports(t *testing.T) {
	srv, v := authority(t)
	ca := entratest.NewCertAuthority()
	alice := ca.ClientCertificate("alice")
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})

	mux := http.NewServeMux()
	connecthttp.Mount(mux, mtlsServer(v))
	api := httptest.NewUnstartedServer(entra.PeerMiddleware(mux))
	api.EnableHTTP2 = true
	api.TLS = ca.ServerTLSConfig()
	api.StartTLS()
	t.Cleanup(api.Close)
	tr := &http.Transport{TLSClientConfig: ca.ClientTLSConfig(&alice), ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	ctx, info := connect.NewClientContext(t.Context())
	info.RequestHeader().Set("Authorization", "MTLS_POP "+tok)
	var res str
	if err := connect.NewClient(connecthttp.NewTransport(&http.Client{Transport: tr}, api.URL)).CallUnary(ctx, specGet, wrapperspb.String(""), &res); err != nil || res.Value != srv.UserPrincipalName {
		t.Fatalf("alice with PeerMiddleware: %q %v", res.Value, err)
	}

	call := &connect.CallInfo{}
	call.RequestHeader().Set("Authorization", "MTLS_POP "+tok)
	err := mtlsServer(v).Call(t.Context(), specGet.Procedure, call, &stream{msg: &str{}})
	if err == nil {
		t.Fatal("accepted without a connection")
	}
	if r := read(t, err, call); r.reason != string(entra.CodeTokenBindingInvalid) || !strings.Contains(r.message, "PeerMiddleware") {
		t.Fatalf("without a connection: %+v", r)
	}
}
