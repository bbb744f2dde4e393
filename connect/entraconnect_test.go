package entraconnect_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	procGet    = "/demo.v1.Orders/Get"
	procUpload = "/demo.v1.Orders/Upload"
	procWatch  = "/demo.v1.Orders/Watch"
	procSecret = "/demo.v1.Orders/Secret"
)

var rules = entra.NewMethodRules().
	Method(procGet, entra.RequireScope("Orders.Read")).
	Method(procUpload, entra.RequireScope("Orders.Write")).
	Method(procWatch)

type (
	str = wrapperspb.StringValue
	num = wrapperspb.Int32Value
)

func username(ctx context.Context) (string, error) {
	c, ok := entra.ClaimsFromContext(ctx)
	if !ok {
		return "", connect.NewError(connect.CodeInternal, errors.New("no claims"))
	}
	return c.PreferredUsername(), nil
}

// api serves the demo procedures, without code generation, behind the
// interceptor, over TLS with HTTP/2 (which the gRPC protocol needs).
func api(t *testing.T, v *entra.Validator) *httptest.Server {
	t.Helper()
	opt := connect.WithInterceptors(entraconnect.New(v, rules))
	mux := http.NewServeMux()
	mux.Handle(procGet, connect.NewUnaryHandler(procGet, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		u, err := username(ctx)
		if err != nil {
			return nil, err
		}
		return connect.NewResponse(wrapperspb.String(u)), nil
	}, opt))
	mux.Handle(procSecret, connect.NewUnaryHandler(procSecret, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		return connect.NewResponse(wrapperspb.String("secret")), nil
	}, opt))
	mux.Handle(procUpload, connect.NewClientStreamHandler(procUpload, func(ctx context.Context, s *connect.ClientStream[str]) (*connect.Response[num], error) {
		if _, err := username(ctx); err != nil {
			return nil, err
		}
		n := int32(0)
		for s.Receive() {
			n++
		}
		if err := s.Err(); err != nil {
			return nil, err
		}
		return connect.NewResponse(wrapperspb.Int32(n)), nil
	}, opt))
	mux.Handle(procWatch, connect.NewServerStreamHandler(procWatch, func(ctx context.Context, _ *connect.Request[str], s *connect.ServerStream[str]) error {
		u, err := username(ctx)
		if err != nil {
			return err
		}
		return s.Send(wrapperspb.String(u))
	}, opt))
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"connect", nil},
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
}

// refusal is what a client reads of a refused call.
type refusal struct {
	code      connect.Code
	reason    string
	message   string
	challenge string
	scope     string
	metadata  map[string]string // of the ErrorInfo detail
	retry     time.Duration
}

func read(t *testing.T, err error) refusal {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a Connect error: %v", err)
	}
	r := refusal{code: ce.Code(), message: ce.Message(), challenge: ce.Meta().Get("Www-Authenticate")}
	if vals := ce.Meta().Values("Www-Authenticate"); len(vals) > 1 {
		t.Errorf("%d challenges", len(vals))
	}
	for _, d := range ce.Details() {
		m, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *errdetails.ErrorInfo:
			if m.Domain != entraconnect.ErrorDomain {
				t.Errorf("domain %q", m.Domain)
			}
			r.reason, r.scope = m.Reason, m.Metadata["scope"]
			r.metadata = m.Metadata
		case *errdetails.RetryInfo:
			r.retry = m.RetryDelay.AsDuration()
		}
	}
	return r
}

func authority(t *testing.T) (*entratest.Server, *entra.Validator) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	return srv, adaptertest.NewReadyValidator(t, srv)
}

func TestProtocols(t *testing.T) {
	auth, v := authority(t)
	srv := api(t, v)
	reader, writer := auth.UserToken("Orders.Read"), auth.UserToken("Orders.Write")

	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			get := connect.NewClient[str, str](srv.Client(), srv.URL+procGet, p.opts...)
			secret := connect.NewClient[str, str](srv.Client(), srv.URL+procSecret, p.opts...)
			upload := connect.NewClient[str, num](srv.Client(), srv.URL+procUpload, p.opts...)
			watch := connect.NewClient[str, str](srv.Client(), srv.URL+procWatch, p.opts...)
			call := func(c *connect.Client[str, str], auth ...string) (string, error) {
				req := connect.NewRequest(wrapperspb.String(""))
				for _, a := range auth {
					req.Header().Add("Authorization", a)
				}
				resp, err := c.CallUnary(t.Context(), req)
				if err != nil {
					return "", err
				}
				return resp.Msg.Value, nil
			}

			unary := []struct {
				name      string
				client    *connect.Client[str, str]
				auth      []string
				code      connect.Code
				reason    entra.Code
				message   string
				challenge string
				scope     string
			}{
				{"no token", get, nil, connect.CodeUnauthenticated, entra.CodeTokenMissing, "no bearer token was presented: send Authorization: Bearer <token>", `Bearer realm=""`, ""},
				{"garbage token", get, []string{"Bearer not-a-jwt"}, connect.CodeUnauthenticated, entra.CodeTokenMalformed, "token is not a JWT: it needs three dot-separated segments", `error="invalid_token"`, ""},
				{"two Authorization headers", get, []string{"Bearer " + reader, "Bearer " + reader}, connect.CodeInvalidArgument, entra.CodeInvalidRequest, "the request has more than one Authorization header", `error="invalid_request"`, ""},
				{"scope not met", get, []string{"Bearer " + writer}, connect.CodePermissionDenied, entra.CodeForbidden, `the token does not meet the requirement: scope "Orders.Read"`, `scope="Orders.Read"`, "Orders.Read"},
				{"procedure without a rule", secret, []string{"Bearer " + reader}, connect.CodePermissionDenied, entra.CodeForbidden, "", `error="insufficient_scope"`, ""},
			}
			for _, tc := range unary {
				t.Run(tc.name, func(t *testing.T) {
					_, err := call(tc.client, tc.auth...)
					r := read(t, err)
					if r.code != tc.code || r.reason != string(tc.reason) || r.scope != tc.scope {
						t.Fatalf("got %+v, want %v %s scope %q", r, tc.code, tc.reason, tc.scope)
					}
					if r.message == "" || (tc.message != "" && r.message != tc.message) {
						t.Errorf("message %q, want %q", r.message, tc.message)
					}
					if !strings.HasPrefix(r.challenge, "Bearer ") || !strings.Contains(r.challenge, tc.challenge) {
						t.Errorf("challenge %q, want %q", r.challenge, tc.challenge)
					}
					if strings.Contains(r.message+r.challenge, reader) {
						t.Error("the refusal echoes the token")
					}
				})
			}
			t.Run("scope met", func(t *testing.T) {
				u, err := call(get, "Bearer "+reader)
				if err != nil || u != auth.UserPrincipalName {
					t.Fatalf("%q %v", u, err)
				}
			})

			send := func(token string) (int32, error) {
				s := upload.CallClientStream(t.Context())
				s.RequestHeader().Set("Authorization", "Bearer "+token)
				for range 3 {
					if err := s.Send(wrapperspb.String("x")); err != nil {
						break // the refusal is read by CloseAndReceive
					}
				}
				resp, err := s.CloseAndReceive()
				if err != nil {
					return 0, err
				}
				return resp.Msg.Value, nil
			}
			t.Run("client streaming: scope met", func(t *testing.T) {
				if n, err := send(writer); err != nil || n != 3 {
					t.Fatalf("%d %v", n, err)
				}
			})
			t.Run("client streaming: scope not met", func(t *testing.T) {
				_, err := send(reader)
				if r := read(t, err); r.code != connect.CodePermissionDenied || r.reason != "forbidden" || r.scope != "Orders.Write" || !strings.Contains(r.challenge, `scope="Orders.Write"`) {
					t.Fatalf("got %+v", r)
				}
			})
			watchAs := func(auth string) (string, error) {
				req := connect.NewRequest(wrapperspb.String(""))
				if auth != "" {
					req.Header().Set("Authorization", auth)
				}
				s, err := watch.CallServerStream(t.Context(), req)
				if err != nil {
					return "", err
				}
				defer s.Close()
				if s.Receive() {
					return s.Msg().Value, nil
				}
				return "", s.Err()
			}
			t.Run("server streaming: any valid token", func(t *testing.T) {
				if u, err := watchAs("Bearer " + writer); err != nil || u != auth.UserPrincipalName {
					t.Fatalf("%q %v", u, err)
				}
			})
			t.Run("server streaming: no token", func(t *testing.T) {
				_, err := watchAs("")
				if r := read(t, err); r.code != connect.CodeUnauthenticated || r.reason != "token_missing" || !strings.HasPrefix(r.challenge, "Bearer realm=") {
					t.Fatalf("got %+v", r)
				}
			})
		})
	}
}

func TestKeysUnavailable(t *testing.T) {
	auth := entratest.NewServer()
	defer auth.Close()
	auth.SetFault(entratest.EndpointJWKS, entratest.RetryAfter(http.StatusServiceUnavailable, 5*time.Second))
	v, err := entra.NewValidator(auth.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv := api(t, v)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			req := connect.NewRequest(wrapperspb.String(""))
			req.Header().Set("Authorization", "Bearer "+auth.UserToken("Orders.Read"))
			_, err := connect.NewClient[str, str](srv.Client(), srv.URL+procGet, p.opts...).CallUnary(t.Context(), req)
			r := read(t, err)
			if r.code != connect.CodeUnavailable || r.reason != string(entra.CodeKeysUnavailable) || r.retry < time.Second || r.challenge != "" {
				t.Fatalf("got %+v", r)
			}
			var ce *connect.Error
			if errors.As(err, &ce) && ce.Meta().Get("Retry-After") != strconv.Itoa(int(r.retry/time.Second)) {
				t.Errorf("Retry-After %q, RetryInfo %v", ce.Meta().Get("Retry-After"), r.retry)
			}
		})
	}
}
