package entraconnect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
)

// Check reads the procedures registered on the server when it runs (none
// before Register), and names a method's typo with the methods the
// service has. The shared suite (TestRPCBehaviour) covers a service's typo
// and the procedures without a rule.
func TestCheckReadsTheRegisteredProcedures(t *testing.T) {
	_, v := authority(t)
	proc := "/demo.v1.Orders/Get"
	ok := func(context.Context) (string, error) { return "ok", nil }

	i := entraconnect.NewInterceptor(v, entra.NewMethodRules().Method(proc, entra.RequireScope("Orders.Read")))
	server := connect.NewServer(i.Intercept)
	if err := i.Check(server); !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), `names service "demo.v1.Orders", which the server does not serve (it serves: none)`) {
		t.Fatalf("Check before Register = %v, want the rule reported", err)
	}
	server.Register(unaryMethod(proc, ok))
	if err := i.Check(server); err != nil {
		t.Errorf("rules naming the registered procedure: %v", err)
	}
	bad := entraconnect.NewInterceptor(v, entra.NewMethodRules().Method("/demo.v1.Orders/get"))
	if err := bad.Check(server); err == nil || !strings.Contains(err.Error(), `names no method of demo.v1.Orders (it has: Get)`) {
		t.Errorf("a method's typo: %v", err)
	}
}
