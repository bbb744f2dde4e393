package entraconnect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A Connect procedure that needs the Orders.Read scope; every procedure
// without a rule is refused (fail closed). Generated handlers take the
// interceptor the same way: connect.WithInterceptors(entraconnect.New(v, rules)).
func Example() {
	authority := entratest.NewServer() // a local fake Entra ID
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config()) // entra.ConfigFromEnv() in production
	if err != nil {
		panic(err)
	}
	defer v.Close()

	const proc = "/orders.v1.Orders/Get"
	rules := entra.NewMethodRules().Method(proc, entra.RequireScope("Orders.Read"))
	mux := http.NewServeMux()
	mux.Handle(proc, connect.NewUnaryHandler(proc, func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		c, _ := entra.ClaimsFromContext(ctx)
		return connect.NewResponse(wrapperspb.String("hello " + c.PreferredUsername())), nil
	}, connect.WithInterceptors(entraconnect.New(v, rules))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+proc)
	for _, token := range []string{"", authority.UserToken("Orders.Write"), authority.UserToken("Orders.Read")} {
		req := connect.NewRequest(wrapperspb.String(""))
		if token != "" {
			req.Header().Set("Authorization", "Bearer "+token)
		}
		resp, err := client.CallUnary(context.Background(), req)
		var ce *connect.Error
		if errors.As(err, &ce) {
			fmt.Println(ce.Code(), "-", ce.Message())
			continue
		}
		fmt.Println(resp.Msg.Value == "hello "+authority.UserPrincipalName)
	}
	// Output:
	// unauthenticated - no bearer token was presented: send Authorization: Bearer <token>
	// permission_denied - the token does not meet the requirement: scope "Orders.Read"
	// true
}
