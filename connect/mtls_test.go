package entraconnect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Without entra.PeerMiddleware the interceptor, which sees only the
// request's context, cannot read the connection: a bound token is
// refused, saying what to add. (The binding itself is in the shared
// suite, TestRPCBehaviour.)
func TestMTLSBindingWithoutPeerMiddleware(t *testing.T) {
	srv, v := authority(t)
	ca := entratest.NewCertAuthority()
	alice := ca.ClientCertificate("alice")
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})
	opt := connect.WithInterceptors(entraconnect.New(v, rules, entra.WithMTLSBinding(entra.MTLSBinding{})))
	mux := http.NewServeMux()
	mux.Handle(procGet, connect.NewUnaryHandler(procGet, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		return connect.NewResponse(wrapperspb.String("ok")), nil
	}, opt))
	api := httptest.NewUnstartedServer(mux) // the mistake: no PeerMiddleware
	api.EnableHTTP2 = true
	api.TLS = ca.ServerTLSConfig()
	api.StartTLS()
	t.Cleanup(api.Close)
	tr := &http.Transport{TLSClientConfig: ca.ClientTLSConfig(&alice), ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)

	req := connect.NewRequest(wrapperspb.String(""))
	req.Header().Set("Authorization", "MTLS_POP "+tok)
	_, err := connect.NewClient[str, str](&http.Client{Transport: tr}, api.URL+procGet).CallUnary(t.Context(), req)
	if err == nil {
		t.Fatal("accepted without PeerMiddleware")
	}
	if r := read(t, err); r.reason != string(entra.CodeTokenBindingInvalid) || !strings.Contains(r.message, "PeerMiddleware") {
		t.Fatalf("without PeerMiddleware: %+v", r)
	}
}
