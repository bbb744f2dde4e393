package entragrpc_test

import (
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A method guarded by RequireAuthContext answers a client that handles
// claims challenges with Unauthenticated, the challenge in the
// www-authenticate trailer and the claims in the ErrorInfo detail's
// metadata; other callers PermissionDenied naming the context.
func TestRequireAuthContextDetails(t *testing.T) {
	srv, v := authority(t)
	rules := entra.NewMethodRules().Method("/grpc.testing.TestService/UnaryCall", entra.RequireScope("Orders.Read"), entra.RequireAuthContext("c1"))
	client := testpb.NewTestServiceClient(serveRules(t, v, rules))
	const claims = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"
	call := func(tok string) (*status.Status, map[string]string, string) {
		var tr metadata.MD
		_, err := client.UnaryCall(withAuth(t.Context(), "Bearer "+tok), &testpb.SimpleRequest{}, grpc.Trailer(&tr))
		if err == nil {
			return nil, nil, ""
		}
		st := status.Convert(err)
		md := map[string]string{}
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				md = info.Metadata
				if md == nil {
					md = map[string]string{}
				}
				md["reason"] = info.Reason
			}
		}
		return st, md, strings.Join(tr.Get("www-authenticate"), "|")
	}
	if st, _, _ := call(srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, AuthContexts: []string{"c1"}})); st != nil {
		t.Fatalf("stepped-up call: %v", st)
	}
	st, md, ch := call(srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ClientCapabilities: []string{"cp1"}}))
	if st == nil || st.Code() != codes.Unauthenticated || md["reason"] != string(entra.CodeAuthContextRequired) || md["claims"] != claims ||
		!strings.Contains(ch, `error="insufficient_claims"`) || !strings.Contains(ch, `claims="`+claims+`"`) {
		t.Fatalf("cp1 call: %v %v %q", st, md, ch)
	}
	st, md, ch = call(srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}}))
	if st == nil || st.Code() != codes.PermissionDenied || md["reason"] != string(entra.CodeAuthContextRequired) || md["claims"] != "" ||
		!strings.Contains(st.Message(), `"c1"`) || strings.Contains(ch, "claims=") {
		t.Fatalf("plain call: %v %v %q", st, md, ch)
	}
}
