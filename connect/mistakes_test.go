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

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
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

// A handler that reads claims on a call the interceptor never saw (a
// handler built without connect.WithInterceptors) is reported once per
// procedure, naming it, through the validator's logger.
func TestClaimsWithoutInterceptorAreReported(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs syncBuffer
	v := loggedValidator(t, auth, &logs)
	svc := freshService()
	proc := "/" + svc + "/Get"
	protected := "/" + svc + "/Protected"
	rules := entra.NewMethodRules().Service(svc)
	read := func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		if _, ok := entraconnect.Claims(ctx); !ok {
			return nil, connect.NewError(connect.CodeInternal, errors.New("no claims"))
		}
		return connect.NewResponse(wrapperspb.String("claims")), nil
	}
	mux := http.NewServeMux()
	mux.Handle(proc, connect.NewUnaryHandler(proc, read)) // the mistake: no interceptor
	mux.Handle(protected, connect.NewUnaryHandler(protected, read, connect.WithInterceptors(entraconnect.New(v, rules))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tok := auth.UserToken("Orders.Read")
	call := func(p string) error {
		req := connect.NewRequest(wrapperspb.String(""))
		req.Header().Set("Authorization", "Bearer "+tok)
		_, err := connect.NewClient[str, str](srv.Client(), srv.URL+p).CallUnary(t.Context(), req)
		return err
	}
	for range 2 {
		if err := call(proc); connect.CodeOf(err) != connect.CodeInternal {
			t.Fatalf("the handler found claims nothing validated: %v", err)
		}
	}
	if err := call(protected); err != nil {
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

// A rule whose service name has a typo is reported by Check, and each call
// of a procedure no rule covers is logged once, naming it.
func TestRuleTyposAreReported(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs syncBuffer
	v := loggedValidator(t, auth, &logs)
	svc := freshService()
	typo := strings.ToLower(svc)
	proc := "/" + svc + "/Get"
	i := entraconnect.New(v, entra.NewMethodRules().Service(typo, entra.RequireScope("Orders.Read")))
	mux := http.NewServeMux()
	mux.Handle(proc, connect.NewUnaryHandler(proc, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		return connect.NewResponse(wrapperspb.String("ok")), nil
	}, connect.WithInterceptors(i)))

	err := i.Check(proc)
	if !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), `"`+typo+`" names no service the server serves (it serves: `+svc+`)`) {
		t.Fatalf("Check = %v, want the typo named", err)
	}
	if err := i.Check("/" + typo + "/"); err != nil {
		t.Errorf("a service given by its handler path: %v", err)
	}
	if n := strings.Count(logs.String(), "names no service the server serves"); n != 1 {
		t.Errorf("Check logged %d lines, want 1:\n%s", n, logs.String())
	}

	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for range 3 {
		req := connect.NewRequest(wrapperspb.String(""))
		req.Header().Set("Authorization", "Bearer "+auth.UserToken("Orders.Read"))
		_, err := connect.NewClient[str, str](srv.Client(), srv.URL+proc).CallUnary(t.Context(), req)
		if connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Fatalf("a procedure without a rule: %v, want PermissionDenied", err)
		}
	}
	if n := strings.Count(logs.String(), "method="+proc); n != 1 {
		t.Errorf("the procedure without a rule was logged %d times, want once:\n%s", n, logs.String())
	}
}
