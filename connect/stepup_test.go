package entraconnect_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A procedure guarded by RequireAuthContext answers a client that handles
// claims challenges with Unauthenticated, the challenge in
// WWW-Authenticate and the claims in the ErrorInfo detail's metadata, in
// every protocol; other callers PermissionDenied naming the context.
func TestRequireAuthContextDetails(t *testing.T) {
	auth, v := authority(t)
	const proc = "/pay.v1.Payments/Approve"
	rules := entra.NewMethodRules().Method(proc, entra.RequireScope("Payments.Approve"), entra.RequireAuthContext("c1"))
	mux := http.NewServeMux()
	mux.Handle(proc, connect.NewUnaryHandler(proc, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		return connect.NewResponse(wrapperspb.String("approved")), nil
	}, connect.WithInterceptors(entraconnect.New(v, rules))))
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
			client := connect.NewClient[str, str](srv.Client(), srv.URL+proc, p.opts...)
			call := func(tok string) (*connect.Error, map[string]string, error) {
				req := connect.NewRequest(wrapperspb.String(""))
				req.Header().Set("Authorization", "Bearer "+tok)
				_, err := client.CallUnary(t.Context(), req)
				var ce *connect.Error
				if !errors.As(err, &ce) {
					return nil, nil, err
				}
				md := map[string]string{}
				for _, d := range ce.Details() {
					if m, err := d.Value(); err == nil {
						if info, ok := m.(*errdetails.ErrorInfo); ok {
							for k, v := range info.Metadata {
								md[k] = v
							}
							md["reason"] = info.Reason
						}
					}
				}
				return ce, md, nil
			}
			if ce, _, err := call(stepped); ce != nil || err != nil {
				t.Fatalf("stepped-up call: %v %v", ce, err)
			}
			ce, md, _ := call(capable)
			if ce == nil || ce.Code() != connect.CodeUnauthenticated || md["reason"] != string(entra.CodeAuthContextRequired) || md["claims"] != claims ||
				!strings.Contains(ce.Meta().Get("Www-Authenticate"), `error="insufficient_claims"`) || !strings.Contains(ce.Meta().Get("Www-Authenticate"), `claims="`+claims+`"`) {
				t.Fatalf("cp1 call: %v %v %q", ce, md, ce.Meta().Get("Www-Authenticate"))
			}
			ce, md, _ = call(plain)
			if ce == nil || ce.Code() != connect.CodePermissionDenied || md["reason"] != string(entra.CodeAuthContextRequired) || md["claims"] != "" ||
				!strings.Contains(ce.Message(), `"c1"`) {
				t.Fatalf("plain call: %v %v", ce, md)
			}
		})
	}
}
