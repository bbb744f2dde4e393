package entraconnect_test

import (
	"crypto/tls"
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

// mtlsAPI serves mtlsServer over TLS (HTTP/2) with client certificates of
// ca; wrapped in entra.PeerMiddleware when peer (as the Connect v1
// adapter needs; v2 reads the connection from connecthttp's ServerInfo, and
// the two agree).
func mtlsAPI(t *testing.T, v *entra.Validator, ca *entratest.CertAuthority, peer bool) string {
	t.Helper()
	mux := http.NewServeMux()
	connecthttp.Mount(mux, mtlsServer(v))
	var h http.Handler = mux
	if peer {
		h = entra.PeerMiddleware(mux)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.TLS = ca.ServerTLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// Tokens bound to a client certificate over real TLS, for every protocol,
// with and without PeerMiddleware.
func TestMTLSBinding(t *testing.T) {
	srv, v := authority(t)
	ca := entratest.NewCertAuthority()
	alice, mallory := ca.ClientCertificate("alice"), ca.ClientCertificate("mallory")
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})
	client := func(c *tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: ca.ClientTLSConfig(c), ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	asAlice, asMallory, anonymous := client(&alice), client(&mallory), client(nil)
	for _, peer := range []bool{true, false} {
		base := mtlsAPI(t, v, ca, peer)
		for _, p := range protocols {
			name := p.name
			if peer {
				name += " with PeerMiddleware"
			}
			t.Run(name, func(t *testing.T) {
				get := func(c *http.Client, auth string) (string, *connect.CallInfo, error) {
					ctx, info := connect.NewClientContext(t.Context())
					info.RequestHeader().Set("Authorization", auth)
					var res str
					err := connect.NewClient(connecthttp.NewTransport(c, base, p.opts...)).CallUnary(ctx, specGet, wrapperspb.String(""), &res)
					return res.Value, info, err
				}
				if u, _, err := get(asAlice, "MTLS_POP "+tok); err != nil || u != srv.UserPrincipalName {
					t.Fatalf("alice: %q %v", u, err)
				}
				for name, tc := range map[string]struct {
					c      *http.Client
					auth   string
					reason entra.Code
				}{
					"other certificate":           {asMallory, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
					"no certificate":              {anonymous, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
					"Bearer with the certificate": {asAlice, "Bearer " + tok, entra.CodeTokenBound},
				} {
					_, info, err := get(tc.c, tc.auth)
					if err == nil {
						t.Fatalf("%s: accepted", name)
					}
					if r := read(t, err, info); r.code != connect.CodeUnauthenticated || r.reason != string(tc.reason) {
						t.Fatalf("%s: %+v, want Unauthenticated %q", name, r, tc.reason)
					}
				}
			})
		}
	}

	// A transport that is not HTTP (here Server.Call without connecthttp's
	// ServerInfo) cannot tell the connection: refused, saying what to add.
	info := &connect.CallInfo{}
	info.RequestHeader().Set("Authorization", "MTLS_POP "+tok)
	err := mtlsServer(v).Call(t.Context(), specGet.Procedure, info, &stream{msg: &str{}})
	if err == nil {
		t.Fatal("accepted without a connection")
	}
	if r := read(t, err, info); r.reason != string(entra.CodeTokenBindingInvalid) || !strings.Contains(r.message, "PeerMiddleware") {
		t.Fatalf("without a connection: %+v", r)
	}
}
