package entraconnect_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The shared behaviour of RPC adapters, in the Connect protocol: rule
// typos, procedures without a rule, claims read without the interceptor,
// streams ended by expiry and revocation.
func TestRPCBehaviour(t *testing.T) {
	adaptertest.RunRPCTests(t, adaptertest.RPCAdapter{
		Unary:            "Get",
		Stream:           "Ticks",
		Serve:            serveSuite,
		ClaimsFix:        "install the interceptor",
		StreamChallenges: true,
	})
}

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

// ticksMethod is a server-streaming method that sends a message every
// 5 ms until its stream fails.
func ticksMethod(spec connect.Spec) connect.Method {
	return connect.Method{Spec: spec, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
		var req str
		if err := stream.Receive(&req); err != nil {
			return err
		}
		for {
			if err := stream.Send(wrapperspb.String("tick")); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}}
}

// serveSuite serves Get, answering OK when it finds claims and Internal
// when not, and Ticks, a server stream that sends a message every 5 ms
// until it fails.
func serveSuite(t *testing.T, s adaptertest.RPCServer) adaptertest.RPCClient {
	get := "/" + s.Service + "/Get"
	ticks := connect.Spec{Procedure: "/" + s.Service + "/Ticks", StreamType: connect.StreamTypeServer}
	var server *connect.Server
	if i := entraconnect.NewInterceptor(s.Validator, s.Rules, s.Options...); s.Bare {
		server = connect.NewServer()
	} else {
		server = connect.NewServer(i.Intercept)
	}
	server.Register(unaryMethod(get, func(ctx context.Context) (string, error) {
		if _, ok := entraconnect.Claims(ctx); !ok {
			return "", connect.NewError(connect.CodeInternal, "no claims")
		}
		return "claims", nil
	}))
	server.Register(ticksMethod(ticks))
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	// No PeerMiddleware: the interceptor reads the connection from
	// connecthttp's ServerInfo.
	srv := httptest.NewUnstartedServer(mux)
	if s.TLS != nil {
		srv.EnableHTTP2 = true
		srv.TLS = s.TLS
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	client := func(hc *http.Client) adaptertest.RPCClient {
		client := connect.NewClient(connecthttp.NewTransport(hc, srv.URL))
		return adaptertest.RPCClient{
			Call: func(authorization string) adaptertest.RPCResult {
				ctx, info := connect.NewClientContext(t.Context())
				setAuthorization(info.RequestHeader(), authorization)
				err := client.CallUnary(ctx, connect.Spec{Procedure: get, StreamType: connect.StreamTypeUnary}, wrapperspb.String(""), &str{})
				return result(t, err, info)
			},
			CallWith: func(headers http.Header) adaptertest.RPCResult {
				ctx, info := connect.NewClientContext(t.Context())
				for k, vs := range headers {
					for _, v := range vs {
						info.RequestHeader().Add(k, v)
					}
				}
				err := client.CallUnary(ctx, connect.Spec{Procedure: get, StreamType: connect.StreamTypeUnary}, wrapperspb.String(""), &str{})
				return result(t, err, info)
			},
			Open: func(authorization string) adaptertest.RPCStream {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds a failure only
				t.Cleanup(cancel)
				ctx, info := connect.NewClientContext(ctx)
				setAuthorization(info.RequestHeader(), authorization)
				st, err := client.CallServerStream(ctx, ticks, wrapperspb.String(""))
				if err != nil {
					r := result(t, err, info)
					return func() *adaptertest.RPCResult { return &r }
				}
				t.Cleanup(func() { _ = st.Close() })
				return func() *adaptertest.RPCResult {
					err := st.Receive(&str{})
					if err == nil {
						return nil
					}
					r := result(t, err, info)
					return &r
				}
			},
			Check: func(rules *entra.MethodRules) error {
				return entraconnect.NewInterceptor(s.Validator, rules).Check(server)
			},
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

// result is what a client reads of a call's status (OK for nil); the
// challenge of a stream is in its trailers.
func result(t *testing.T, err error, info *connect.CallInfo) adaptertest.RPCResult {
	t.Helper()
	if err == nil {
		return adaptertest.RPCResult{}
	}
	r := read(t, err, info)
	if r.challenge == "" {
		r.challenge = info.ResponseTrailer().Get("Www-Authenticate")
	}
	return adaptertest.RPCResult{Code: entra.RPCCode(r.code), Reason: r.reason, Message: r.message, Challenge: r.challenge, Metadata: r.metadata, RetryDelay: r.retry}
}

// setAuthorization sets the Authorization header to a, none for "".
func setAuthorization(h *connect.Header, a string) {
	if a != "" {
		h.Set("Authorization", a)
	}
}
