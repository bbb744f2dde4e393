package entraconnect_test

import (
	"context"
	"crypto/tls"
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

// mtlsAPI serves procGet behind the interceptor with WithMTLSBinding,
// over TLS (HTTP/2) with client certificates of ca; wrapped in
// entra.PeerMiddleware when peer, so that the interceptor, which sees
// only the request's context, can read the connection.
func mtlsAPI(t *testing.T, v *entra.Validator, ca *entratest.CertAuthority, peer bool) string {
	t.Helper()
	opt := connect.WithInterceptors(entraconnect.New(v, rules, entra.WithMTLSBinding(entra.MTLSBinding{})))
	mux := http.NewServeMux()
	mux.Handle(procGet, connect.NewUnaryHandler(procGet, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		u, err := username(ctx)
		if err != nil {
			return nil, err
		}
		return connect.NewResponse(wrapperspb.String(u)), nil
	}, opt))
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

// Tokens bound to a client certificate over real TLS, for every protocol.
func TestMTLSBinding(t *testing.T) {
	srv, v := authority(t)
	ca := entratest.NewCertAuthority()
	alice, mallory := ca.ClientCertificate("alice"), ca.ClientCertificate("mallory")
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})
	base := mtlsAPI(t, v, ca, true)
	client := func(c *tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: ca.ClientTLSConfig(c), ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	asAlice, asMallory, anonymous := client(&alice), client(&mallory), client(nil)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			get := func(c *http.Client, url, auth string) error {
				req := connect.NewRequest(wrapperspb.String(""))
				req.Header().Set("Authorization", auth)
				_, err := connect.NewClient[str, str](c, url+procGet, p.opts...).CallUnary(t.Context(), req)
				return err
			}
			if err := get(asAlice, base, "MTLS_POP "+tok); err != nil {
				t.Fatalf("alice: %v", err)
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
				err := get(tc.c, base, tc.auth)
				if err == nil {
					t.Fatalf("%s: accepted", name)
				}
				if r := read(t, err); r.code != connect.CodeUnauthenticated || r.reason != string(tc.reason) {
					t.Fatalf("%s: %+v, want Unauthenticated %q", name, r, tc.reason)
				}
			}
		})
	}

	// Without PeerMiddleware the interceptor cannot see the connection:
	// refused, saying what to add.
	bare := mtlsAPI(t, v, ca, false)
	req := connect.NewRequest(wrapperspb.String(""))
	req.Header().Set("Authorization", "MTLS_POP "+tok)
	_, err := connect.NewClient[str, str](asAlice, bare+procGet).CallUnary(t.Context(), req)
	if err == nil {
		t.Fatal("accepted without PeerMiddleware")
	}
	if r := read(t, err); r.reason != string(entra.CodeTokenBindingInvalid) || !strings.Contains(r.message, "PeerMiddleware") {
		t.Fatalf("without PeerMiddleware: %+v", r)
	}
}
