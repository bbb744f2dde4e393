package entra_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// md is gRPC-shaped metadata: lower-case keys.
type md map[string][]string

func (m md) Get(k string) []string { return m[k] }

func TestAuthenticateRPC(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	a := entra.NewAuthenticator(v, entra.WithRealm("orders"))
	rules := entra.NewMethodRules().
		Public(entra.HealthService, "/demo.Orders/Ping").
		Service("demo.Orders", entra.RequireScope("Orders.Read")).
		Method("/demo.Orders/Create", entra.RequireScope("Orders.Write")).
		Method("/demo.Orders/Me")
	user := func(scopes ...string) md { return md{"authorization": {"Bearer " + srv.UserToken(scopes...)}} }

	cases := []struct {
		name, method string
		md           md
		code         entra.RPCCode // 0: accepted
		reason       entra.Code
		challenge    string
		claims       bool
	}{
		{"no rule for the method", "/demo.Billing/Pay", user("Orders.Read"), entra.RPCPermissionDenied, entra.CodeForbidden, `error="insufficient_scope"`, false},
		{"no rule, no token: still the rule's refusal", "/other.Svc/M", nil, entra.RPCPermissionDenied, entra.CodeForbidden, "", false},
		{"public service", "/grpc.health.v1.Health/Check", nil, 0, "", "", false},
		{"public service ignores a bad token", "/grpc.health.v1.Health/Watch", md{"authorization": {"Bearer x"}}, 0, "", "", false},
		{"public method", "/demo.Orders/Ping", nil, 0, "", "", false},
		{"service rule met", "/demo.Orders/List", user("Orders.Read"), 0, "", "", true},
		{"service rule not met", "/demo.Orders/List", user("Orders.Write"), entra.RPCPermissionDenied, entra.CodeForbidden, `scope="Orders.Read"`, false},
		{"method rule wins over the service's", "/demo.Orders/Create", user("Orders.Write"), 0, "", "", true},
		{"method rule not met", "/demo.Orders/Create", user("Orders.Read"), entra.RPCPermissionDenied, entra.CodeForbidden, `scope="Orders.Write"`, false},
		{"any valid token", "/demo.Orders/Me", user("User.Read"), 0, "", "", true},
		{"no token", "/demo.Orders/Me", nil, entra.RPCUnauthenticated, entra.CodeTokenMissing, `Bearer realm="orders"`, false},
		{"Basic is no token", "/demo.Orders/Me", md{"authorization": {"Basic dXNlcjpwYXNz"}}, entra.RPCUnauthenticated, entra.CodeTokenMissing, "", false},
		{"garbage token", "/demo.Orders/Me", md{"authorization": {"Bearer not-a-jwt"}}, entra.RPCUnauthenticated, entra.CodeTokenMalformed, `error="invalid_token"`, false},
		{"two authorization values", "/demo.Orders/Me", md{"authorization": {"Bearer a", "Bearer b"}}, entra.RPCInvalidArgument, entra.CodeInvalidRequest, `error="invalid_request"`, false},
		{"token without scp or roles", "/demo.Orders/Me", md{"authorization": {"Bearer " + srv.Mint(entratest.Token{})}}, entra.RPCUnauthenticated, entra.CodeNoPermissions, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m entra.Metadata
			if tc.md != nil {
				m = tc.md
			}
			ctx, st := a.AuthenticateRPC(context.Background(), tc.method, m, rules)
			if tc.code == 0 {
				if st != nil {
					t.Fatalf("refused: %+v", st)
				}
				if _, ok := entra.ClaimsFromContext(ctx); ok != tc.claims {
					t.Fatalf("claims in context: %v, want %v", ok, tc.claims)
				}
				return
			}
			if st == nil {
				t.Fatal("accepted")
			}
			if st.Code != tc.code || st.Reason != tc.reason || !errors.Is(st.Err, &entra.Error{Code: tc.reason}) {
				t.Fatalf("got %d %s, want %d %s", st.Code, st.Reason, tc.code, tc.reason)
			}
			if st.Message == "" || st.Message != st.Err.Description {
				t.Errorf("message %q, description %q", st.Message, st.Err.Description)
			}
			if !strings.Contains(st.Challenge, tc.challenge) || !strings.HasPrefix(st.Challenge, "Bearer ") {
				t.Errorf("challenge %q, want it to hold %q", st.Challenge, tc.challenge)
			}
			if tc.md != nil {
				for _, vals := range tc.md {
					if tok := strings.TrimPrefix(vals[0], "Bearer "); len(tok) > 8 && strings.Contains(st.Message+st.Challenge, tok) {
						t.Error("the status echoes the token")
					}
				}
			}
		})
	}
}

func TestAuthenticateRPCKeysUnavailable(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.RetryAfter(http.StatusServiceUnavailable, 7*time.Second))
	v := newValidator(t, srv.Config())
	a := entra.NewAuthenticator(v)
	rules := entra.NewMethodRules().Service("demo.Orders")
	_, st := a.AuthenticateRPC(ctxT(t), "/demo.Orders/List", md{"authorization": {"Bearer " + srv.UserToken("Orders.Read")}}, rules)
	if st == nil || st.Code != entra.RPCUnavailable || st.Reason != entra.CodeKeysUnavailable || !errors.Is(st.Err, entra.ErrKeysUnavailable) {
		t.Fatalf("got %+v", st)
	}
	if st.RetryAfter < time.Second || st.Challenge != "" {
		t.Errorf("RetryAfter %v, challenge %q", st.RetryAfter, st.Challenge)
	}
}

func TestRPCStatusInternal(t *testing.T) {
	st := entra.ResponseFor(errors.New("dial tcp 10.0.0.1: secret detail")).RPCStatus()
	if st.Code != entra.RPCInternal || st.Reason != "internal" || strings.Contains(st.Message, "secret") || st.Challenge != "" {
		t.Fatalf("got %+v", st)
	}
}

func TestMethodRulesPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"method without slash":   func() { entra.NewMethodRules().Method("demo.Orders/List") },
		"method without name":    func() { entra.NewMethodRules().Method("/demo.Orders/") },
		"method without svc":     func() { entra.NewMethodRules().Method("/List") },
		"service with a slash":   func() { entra.NewMethodRules().Service("/demo.Orders") },
		"empty service":          func() { entra.NewMethodRules().Service("") },
		"public empty":           func() { entra.NewMethodRules().Public("") },
		"method twice":           func() { entra.NewMethodRules().Method("/a.B/C").Method("/a.B/C") },
		"service public and set": func() { entra.NewMethodRules().Public("a.B").Service("a.B") },
		"zero value":             func() { new(entra.MethodRules).Method("/a.B/C") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fn()
		})
	}
}

// A nil *MethodRules refuses everything: there is no way to get an
// open-by-default interceptor by forgetting the rules.
func TestMethodRulesNil(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	_, st := entra.NewAuthenticator(v).AuthenticateRPC(context.Background(), "/a.B/C", nil, nil)
	if st == nil || st.Code != entra.RPCPermissionDenied {
		t.Fatalf("got %+v", st)
	}
}
