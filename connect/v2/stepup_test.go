package entraconnect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// A procedure guarded by RequireAuthContext answers a client that handles
// claims challenges with Unauthenticated, the challenge in
// WWW-Authenticate and the claims in the ErrorInfo detail's metadata, in
// every protocol; other callers PermissionDenied naming the context.
func TestRequireAuthContextDetails(t *testing.T) {
	auth, v := authority(t)
	const proc = "/pay.v1.Payments/Approve"
	rules := entra.NewMethodRules().Method(proc, entra.RequireScope("Payments.Approve"), entra.RequireAuthContext("c1"))
	server := connect.NewServer(entraconnect.New(v, rules))
	server.Register(unaryMethod(proc, func(context.Context) (string, error) { return "approved", nil }))
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	const claims = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"
	stepped := auth.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, AuthContexts: []string{"c1"}})
	capable := auth.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, ClientCapabilities: []string{"cp1"}})
	plain := auth.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL, p.opts...))
			call := func(tok string) (*connect.CallInfo, error) {
				ctx, info := connect.NewClientContext(t.Context())
				info.RequestHeader().Set("Authorization", "Bearer "+tok)
				var res str
				return info, client.CallUnary(ctx, connect.Spec{Procedure: proc, StreamType: connect.StreamTypeUnary}, &str{}, &res)
			}
			if _, err := call(stepped); err != nil {
				t.Fatalf("stepped-up call: %v", err)
			}
			info, err := call(capable)
			if r := read(t, err, info); r.code != connect.CodeUnauthenticated || r.reason != string(entra.CodeAuthContextRequired) || r.claims != claims ||
				!strings.Contains(r.challenge, `error="insufficient_claims"`) || !strings.Contains(r.challenge, `claims="`+claims+`"`) {
				t.Fatalf("cp1 call: %+v", r)
			}
			info, err = call(plain)
			if r := read(t, err, info); r.code != connect.CodePermissionDenied || r.reason != string(entra.CodeAuthContextRequired) || r.claims != "" ||
				!strings.Contains(r.message, `"c1"`) {
				t.Fatalf("plain call: %+v", r)
			}
		})
	}
}
