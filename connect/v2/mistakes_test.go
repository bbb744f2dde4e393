package entraconnect_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// syncBuffer is a log sink safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loggedValidator is a ready validator for srv whose logger writes to logs.
func loggedValidator(t *testing.T, srv *entratest.Server, logs *syncBuffer) *entra.Validator {
	t.Helper()
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v
}

// runs makes procedure names unique to one run of a test: a procedure is
// reported once per process, and go test -count=N runs a test N times in one.
var runs atomic.Int32

// freshService returns a service name no earlier run used.
func freshService() string { return fmt.Sprintf("r%d.Orders", runs.Add(1)) }

// unaryMethod is a unary method of proc answering with answer.
func unaryMethod(proc string, answer func(ctx context.Context) (string, error)) connect.Method {
	return connect.Method{Spec: connect.Spec{Procedure: proc, StreamType: connect.StreamTypeUnary}, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
		var req str
		if err := stream.Receive(&req); err != nil {
			return err
		}
		s, err := answer(ctx)
		if err != nil {
			return err
		}
		return stream.Send(wrapperspb.String(s))
	}}
}

// callUnary calls the unary proc of the server at url with a bearer token.
func callUnary(t *testing.T, srv *httptest.Server, proc, token string) error {
	t.Helper()
	ctx, info := connect.NewClientContext(t.Context())
	info.RequestHeader().Set("Authorization", "Bearer "+token)
	client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL))
	return client.CallUnary(ctx, connect.Spec{Procedure: proc, StreamType: connect.StreamTypeUnary}, wrapperspb.String(""), &str{})
}

// A handler that reads claims on a call the interceptor never saw (a
// method registered on a server made without it) is reported once per
// procedure, naming it, through the validator's logger.
func TestClaimsWithoutInterceptorAreReported(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs syncBuffer
	v := loggedValidator(t, auth, &logs)
	svc := freshService()
	proc := "/" + svc + "/Get"
	other := freshService()
	protected := "/" + other + "/Protected"
	read := func(ctx context.Context) (string, error) {
		if _, ok := entraconnect.Claims(ctx); !ok {
			return "", connect.NewError(connect.CodeInternal, "no claims")
		}
		return "claims", nil
	}
	open := connect.NewServer() // the mistake: a server without the interceptor
	open.Register(unaryMethod(proc, read))
	guarded := connect.NewServer(entraconnect.New(v, entra.NewMethodRules().Service(other)))
	guarded.Register(unaryMethod(protected, read))
	mux := http.NewServeMux()
	connecthttp.Mount(mux, open)
	connecthttp.Mount(mux, guarded)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tok := auth.UserToken("Orders.Read")
	for range 2 {
		if err := callUnary(t, srv, proc, tok); connect.CodeOf(err) != connect.CodeInternal {
			t.Fatalf("the handler found claims nothing validated: %v", err)
		}
	}
	if err := callUnary(t, srv, protected, tok); err != nil {
		t.Fatalf("behind the interceptor: %v", err)
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "route="+proc) || !strings.Contains(out, "install the interceptor") {
		t.Errorf("the line does not name the procedure %s and the fix:\n%s", proc, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token reached the log")
	}
}

// A rule whose service or method name has a typo is reported by Check,
// which reads the procedures registered on the server, and each call of a
// procedure no rule covers is logged once, naming it.
func TestRuleTyposAreReported(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs syncBuffer
	v := loggedValidator(t, auth, &logs)
	svc := freshService()
	typo := strings.ToLower(svc)
	proc := "/" + svc + "/Get"
	ok := func(context.Context) (string, error) { return "ok", nil }

	i := entraconnect.NewInterceptor(v, entra.NewMethodRules().Service(typo, entra.RequireScope("Orders.Read")))
	server := connect.NewServer(i.Intercept)
	if err := i.Check(server); !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), `"`+typo+`" names no service the server serves (it serves: none)`) {
		t.Fatalf("Check before Register = %v, want the rule reported", err)
	}
	server.Register(unaryMethod(proc, ok))
	err := i.Check(server)
	if !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), `"`+typo+`" names no service the server serves (it serves: `+svc+`)`) {
		t.Fatalf("Check = %v, want the typo named", err)
	}
	if n := strings.Count(logs.String(), "names no service the server serves"); n != 2 {
		t.Errorf("two Checks logged %d lines, want 2:\n%s", n, logs.String())
	}

	// Rules that name what is registered pass; a method's typo is named.
	good := entraconnect.NewInterceptor(v, entra.NewMethodRules().Method(proc, entra.RequireScope("Orders.Read")))
	goodServer := connect.NewServer(good.Intercept)
	goodServer.Register(unaryMethod(proc, ok))
	if err := good.Check(goodServer); err != nil {
		t.Errorf("rules naming the registered procedure: %v", err)
	}
	bad := entraconnect.NewInterceptor(v, entra.NewMethodRules().Method("/"+svc+"/get"))
	if err := bad.Check(goodServer); err == nil || !strings.Contains(err.Error(), `names no method of `+svc+` (it has: Get)`) {
		t.Errorf("a method's typo: %v", err)
	}

	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for range 3 {
		if err := callUnary(t, srv, proc, auth.UserToken("Orders.Read")); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Fatalf("a procedure without a rule: %v, want PermissionDenied", err)
		}
	}
	if n := strings.Count(logs.String(), "method="+proc); n != 1 {
		t.Errorf("the procedure without a rule was logged %d times, want once:\n%s", n, logs.String())
	}
}
