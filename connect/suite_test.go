package entraconnect_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The shared behaviour of RPC adapters: rule typos, procedures without a
// rule, claims read without the interceptor, streams ended by expiry and
// revocation.
func TestRPCBehaviour(t *testing.T) {
	adaptertest.RunRPCTests(t, adaptertest.RPCAdapter{
		Unary:            "Get",
		Stream:           "Ticks",
		Serve:            serveSuite,
		ClaimsFix:        "install the interceptor",
		StreamChallenges: true,
	})
}

// serveSuite serves Get, answering OK when it finds claims and Internal
// when not, and Ticks, a server stream that sends a message every 5 ms
// until it fails.
func serveSuite(t *testing.T, s adaptertest.RPCServer) adaptertest.RPCClient {
	get, ticks := "/"+s.Service+"/Get", "/"+s.Service+"/Ticks"
	var opts []connect.HandlerOption
	if i := entraconnect.New(s.Validator, s.Rules, s.Options...); !s.Bare {
		opts = append(opts, connect.WithInterceptors(i))
	}
	mux := http.NewServeMux()
	mux.Handle(get, connect.NewUnaryHandler(get, func(ctx context.Context, _ *connect.Request[str]) (*connect.Response[str], error) {
		if _, ok := entraconnect.Claims(ctx); !ok {
			return nil, connect.NewError(connect.CodeInternal, errors.New("no claims"))
		}
		return connect.NewResponse(wrapperspb.String("claims")), nil
	}, opts...))
	mux.Handle(ticks, connect.NewServerStreamHandler(ticks, func(ctx context.Context, _ *connect.Request[str], s *connect.ServerStream[str]) error {
		for {
			if err := s.Send(wrapperspb.String("tick")); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}, opts...))
	// PeerMiddleware lets the interceptor read the connection.
	srv := httptest.NewUnstartedServer(entra.PeerMiddleware(mux))
	if s.TLS != nil {
		srv.EnableHTTP2 = true
		srv.TLS = s.TLS
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	client := func(hc *http.Client) adaptertest.RPCClient {
		return adaptertest.RPCClient{
			Call: func(authorization string) adaptertest.RPCResult {
				req := connect.NewRequest(wrapperspb.String(""))
				setAuthorization(req.Header(), authorization)
				_, err := connect.NewClient[str, str](hc, srv.URL+get).CallUnary(t.Context(), req)
				return result(t, err)
			},
			CallWith: func(headers http.Header) adaptertest.RPCResult {
				req := connect.NewRequest(wrapperspb.String(""))
				for k, vs := range headers {
					for _, v := range vs {
						req.Header().Add(k, v)
					}
				}
				_, err := connect.NewClient[str, str](hc, srv.URL+get).CallUnary(t.Context(), req)
				return result(t, err)
			},
			Open: func(authorization string) adaptertest.RPCStream {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds a failure only
				t.Cleanup(cancel)
				req := connect.NewRequest(wrapperspb.String(""))
				setAuthorization(req.Header(), authorization)
				st, err := connect.NewClient[str, str](hc, srv.URL+ticks).CallServerStream(ctx, req)
				if err != nil {
					r := result(t, err)
					return func() *adaptertest.RPCResult { return &r }
				}
				t.Cleanup(func() { _ = st.Close() })
				return func() *adaptertest.RPCResult {
					if st.Receive() {
						return nil
					}
					r := result(t, st.Err())
					return &r
				}
			},
			Check: func(rules *entra.MethodRules) error { return entraconnect.New(s.Validator, rules).Check(get, ticks) },
		}
	}
	c := client(srv.Client())
	c.Dial = func(cfg *tls.Config) adaptertest.RPCClient {
		tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		return client(&http.Client{Transport: tr})
	}
	return c
}

// result is what a client reads of a call's status (OK for nil).
func result(t *testing.T, err error) adaptertest.RPCResult {
	t.Helper()
	if err == nil {
		return adaptertest.RPCResult{}
	}
	r := read(t, err)
	return adaptertest.RPCResult{Code: entra.RPCCode(r.code), Reason: r.reason, Message: r.message, Challenge: r.challenge, Metadata: r.metadata, RetryDelay: r.retry}
}

// setAuthorization sets the Authorization header to a, none for "".
func setAuthorization(h http.Header, a string) {
	if a != "" {
		h.Set("Authorization", a)
	}
}
