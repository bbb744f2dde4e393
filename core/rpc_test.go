package entra_test

import (
	"context"
	"errors"
	"log/slog"
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
		{"token without scp or roles", "/demo.Orders/Me", md{"authorization": {"Bearer " + srv.Mint(entratest.Token{})}}, entra.RPCUnauthenticated, entra.CodeNoScopeOrRole, "", false},
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
	st := entra.ResponseFor(context.Background(), errors.New("dial tcp 10.0.0.1: secret detail")).RPCStatus()
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

// Check names each rule whose service or method the server does not serve
// (a typo refuses every call it was meant for), and nothing else.
func TestMethodRulesCheck(t *testing.T) {
	served := []string{"/orders.v1.Orders/Get", "/orders.v1.Orders/List", "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}
	good := entra.NewMethodRules().
		Public(entra.HealthService).
		Service("orders.v1.Orders", entra.RequireScope("Orders.Read")).
		Method("/orders.v1.Orders/Get")
	if err := good.Check(served...); err != nil {
		t.Errorf("rules naming served methods: %v", err)
	}
	bad := entra.NewMethodRules().
		Public(entra.HealthService, entra.ReflectionService).
		Service("orders.v1.Order", entra.RequireScope("Orders.Read")). // typo
		Method("/orders.v1.Orders/get").                               // wrong case
		Method("/billing.v1.Billing/Pay")
	err := bad.Check(served...)
	if !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("Check = %v, want a config error", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`the rule for service "orders.v1.Order" names no service the server serves (it serves: grpc.health.v1.Health, orders.v1.Orders)`,
		`the rule for service "grpc.reflection.v1.ServerReflection" names no service`,
		`the rule for method "/orders.v1.Orders/get" names no method of orders.v1.Orders (it has: Get, List)`,
		`the rule for method "/billing.v1.Billing/Pay" names service "billing.v1.Billing", which the server does not serve`,
		"correct the name in the rule",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "grpc.health.v1.Health\" names") {
		t.Errorf("a served public service is reported:\n%s", msg)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Errorf("%d errors, want one per wrong rule (4):\n%s", n, msg)
	}

	// Services given by name (Connect's handler paths): their methods are
	// not known, so only the service part of a method's rule is checked.
	byService := entra.NewMethodRules().Method("/orders.v1.Orders/Anything").Service("orders.v1.Orders")
	if err := byService.Check("/orders.v1.Orders/"); err != nil {
		t.Errorf("a service served by path: %v", err)
	}
	if err := byService.Check("orders.v1.Billing"); err == nil {
		t.Error("rules of an unserved service passed")
	}
	var none *entra.MethodRules
	if err := none.Check(served...); err != nil {
		t.Errorf("nil rules: %v", err)
	}
}

// CheckRules logs each wrong rule to the validator's logger; a call of a
// method no rule covers is logged once per method, naming it.
func TestRuleMistakesAreLogged(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	var logs syncBuffer
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	v := newValidator(t, cfg)
	a := entra.NewAuthenticator(v)
	svc := strings.TrimPrefix(fresh("orders.v1.Orders"), "/")
	rules := entra.NewMethodRules().Service(svc + "x")
	if err := a.CheckRules(rules, "/"+svc+"/Get"); err == nil {
		t.Fatal("CheckRules passed a rule naming no served service")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), svc+"x") {
		t.Errorf("the wrong rule was not logged:\n%s", logs.String())
	}
	tok := md{"authorization": {"Bearer " + srv.UserToken("Orders.Read")}}
	for range 3 {
		if _, st := a.AuthenticateRPC(ctxT(t), "/"+svc+"/Get", tok, rules); st == nil || st.Code != entra.RPCPermissionDenied {
			t.Fatalf("a method without a rule: %+v", st)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "a call of a method that no MethodRules rule covers"); n != 1 || !strings.Contains(out, "method=/"+svc+"/Get") {
		t.Errorf("want one line naming /%s/Get:\n%s", svc, out)
	}
	if strings.Contains(out, tok["authorization"][0][len("Bearer "):]) {
		t.Error("the token reached the log")
	}
}

// WatchCall ends a call at exp + ClockSkew on the real clock (a timer, not
// only the periodic check), with the expiry as CallStatus; a context
// without claims is not watched.
func TestWatchCallEndsAtExpiry(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.ClockSkew = time.Millisecond
	v := newValidator(t, cfg)
	a := entra.NewAuthenticator(v, entra.WithCallCheckInterval(10*time.Minute))
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// The token lives a second; should the machine stall longer than its
	// lifetime before the call is watched, the next try has twice as long.
	var watched context.Context
	for life := time.Second; watched == nil; life *= 2 {
		exp := time.Now().Add(life)
		tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: time.Now().Add(-time.Minute), ExpiresAt: exp})
		ctx, st := a.AuthenticateRPC(ctxT(t), "/demo.Orders/Get", md{"authorization": {"Bearer " + tok}}, entra.NewMethodRules().Service("demo.Orders"))
		if st != nil && st.Reason == entra.CodeTokenExpired && !time.Now().Before(exp) && life < time.Minute {
			continue // expired before it was checked: a stalled machine
		}
		if st != nil {
			t.Fatal(st.Message)
		}
		w, stop := a.WatchCall(ctx)
		defer stop()
		if entra.CallStatus(w) != nil {
			if !time.Now().Before(exp) && life < time.Minute {
				continue // expired before it was looked at: a stalled machine
			}
			t.Fatal("a fresh call already ended")
		}
		watched = w
	}
	select {
	case <-watched.Done():
	case <-time.After(30 * time.Second): // bounds a failure only
		t.Fatal("the call outlived its token")
	}
	if got := entra.CallStatus(watched); got == nil || got.Code != entra.RPCUnauthenticated || got.Reason != entra.CodeTokenExpired {
		t.Fatalf("CallStatus = %+v, want Unauthenticated token_expired", got)
	}

	anon, stopAnon := a.WatchCall(context.Background())
	stopAnon()
	if entra.CallStatus(anon) != nil {
		t.Error("a call without claims was watched")
	}
}
