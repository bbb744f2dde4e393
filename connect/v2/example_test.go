package entraconnect_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// A Connect v2 procedure that needs the Orders.Read scope; every procedure
// without a rule is refused (fail closed). Generated code registers its
// handlers the same way: ordersv1connect.RegisterOrdersHandler(server, svc)
// on a server made with connect.NewServer(entraconnect.New(v, rules)).
func Example() {
	authority := entratest.NewServer() // a local fake Entra ID
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config()) // entra.ConfigFromEnv() in production
	if err != nil {
		panic(err)
	}
	defer v.Close()

	get := connect.Spec{Procedure: "/orders.v1.Orders/Get", StreamType: connect.StreamTypeUnary}
	rules := entra.NewMethodRules().Method(get.Procedure, entra.RequireScope("Orders.Read"))
	server := connect.NewServer(entraconnect.New(v, rules))
	server.Register(connect.Method{Spec: get, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
		var req wrapperspb.StringValue
		if err := stream.Receive(&req); err != nil {
			return err
		}
		c, _ := entra.ClaimsFromContext(ctx)
		return stream.Send(wrapperspb.String("hello " + c.PreferredUsername()))
	}})
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL))
	for _, token := range []string{"", authority.UserToken("Orders.Write"), authority.UserToken("Orders.Read")} {
		ctx, info := connect.NewClientContext(context.Background())
		if token != "" {
			info.RequestHeader().Set("Authorization", "Bearer "+token)
		}
		var resp wrapperspb.StringValue
		err := client.CallUnary(ctx, get, wrapperspb.String(""), &resp)
		var ce *connect.Error
		if errors.As(err, &ce) {
			fmt.Println(ce.Code(), "-", ce.Message())
			continue
		}
		fmt.Println(resp.Value == "hello "+authority.UserPrincipalName)
	}
	// Output:
	// unauthenticated - no bearer token was presented: send Authorization: Bearer <token>
	// permission_denied - the token does not meet the requirement: scope "Orders.Read"
	// true
}

// Check compares the rules with the procedures registered on the server:
// a rule whose name has a typo would leave its procedure refused to all.
func ExampleInterceptor_Check() {
	authority := entratest.NewServer()
	defer authority.Close()
	v, err := entra.NewValidator(authority.Config())
	if err != nil {
		panic(err)
	}
	defer v.Close()

	get := connect.Spec{Procedure: "/orders.v1.Orders/Get", StreamType: connect.StreamTypeUnary}
	rules := entra.NewMethodRules().Method("/orders.v1.Orders/get", entra.RequireScope("Orders.Read")) // the typo
	i := entraconnect.NewInterceptor(v, rules, entra.WithLogger(slog.New(slog.DiscardHandler)))
	server := connect.NewServer(i.Intercept)
	server.Register(connect.Method{Spec: get, Handler: func(context.Context, connect.Spec, connect.ServerStream) error { return nil }})
	err = i.Check(server)
	fmt.Println(errors.Is(err, entra.ErrConfigInvalid), strings.Contains(err.Error(), `names no method of orders.v1.Orders (it has: Get)`))
	// Output:
	// true true
}
