package entraconnect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	entraconnect "github.com/entraguard/entraguard/connect/v2"
	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fakeClock is a Config.Now the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var specTicks = connect.Spec{Procedure: "/demo.v1.Orders/Ticks", StreamType: connect.StreamTypeServer}

// ticksServer serves a server-streaming procedure that sends a message
// every 5 ms until its stream fails, behind the interceptor of a validator
// with cfg checking calls every 10 ms, over TLS with HTTP/2.
func ticksServer(t *testing.T, cfg entra.Config) *httptest.Server {
	t.Helper()
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	server := connect.NewServer(entraconnect.New(v, entra.NewMethodRules().Method(specTicks.Procedure), entra.WithCallCheckInterval(10*time.Millisecond)))
	server.Register(ticksMethod(specTicks))
	mux := http.NewServeMux()
	connecthttp.Mount(mux, server)
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// ticks is an open stream of ticksServer and its client's call info.
type ticks struct {
	s    connect.ClientStream
	info *connect.CallInfo
}

// openTicks opens a stream of srv with token in protocol opts, and reads
// its first message.
func openTicks(t *testing.T, srv *httptest.Server, token string, opts ...connecthttp.Option) ticks {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds a failure only
	t.Cleanup(cancel)
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set("Authorization", "Bearer "+token)
	client := connect.NewClient(connecthttp.NewTransport(srv.Client(), srv.URL, opts...))
	s, err := client.CallServerStream(ctx, specTicks, wrapperspb.String(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	tk := ticks{s: s, info: info}
	if err := tk.next(); err != nil {
		t.Fatalf("a fresh stream: %v", err)
	}
	return tk
}

// next reads one message.
func (tk ticks) next() error {
	var m str
	return tk.s.Receive(&m)
}

// drain reads the stream until the server ends it, and returns how.
func (tk ticks) drain(t *testing.T) refusal {
	t.Helper()
	var err error
	for err == nil {
		err = tk.next()
	}
	return read(t, err, tk.info)
}

// An open stream ends with Unauthenticated (token_expired) once the
// validator's clock passes exp + ClockSkew in the gRPC and gRPC-Web
// protocols too (the shared suite runs the Connect protocol), the
// challenge in the response trailers where the protocol can carry it.
func TestStreamEndsWhenTheTokenExpiresInEveryProtocol(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	for _, p := range protocols[1:] {
		t.Run(p.name, func(t *testing.T) {
			clock := newFakeClock()
			cfg := auth.Config()
			cfg.Now = clock.Now
			tok := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)})
			tk := openTicks(t, ticksServer(t, cfg), tok, p.opts...)
			clock.Advance(time.Hour + entra.DefaultClockSkew - time.Second)
			for range 5 {
				if err := tk.next(); err != nil {
					t.Fatalf("before exp + skew: %v", err)
				}
			}
			clock.Advance(time.Second)
			if r := tk.drain(t); r.code != connect.CodeUnauthenticated || r.reason != string(entra.CodeTokenExpired) || !strings.Contains(r.message, "token expired") {
				t.Errorf("ended with %+v, want unauthenticated and token_expired", r)
			}
			// Go's HTTP/2 server drops WWW-Authenticate from trailers, where
			// gRPC puts them; the ErrorInfo detail says it there.
			if challenge := tk.info.ResponseTrailer().Get("Www-Authenticate"); p.name != "grpc" && !strings.Contains(challenge, `error="invalid_token"`) {
				t.Errorf("challenge in the trailers %q", challenge)
			}
		})
	}
}

// A handler that ignores its context and returns its own error (or none)
// still ends the call with the refusal once its token expired: the
// stream's Receive and Send fail with it.
func TestEndedStreamFailsSendAndReceive(t *testing.T) {
	auth, _ := authority(t)
	clock := newFakeClock()
	cfg := auth.Config()
	cfg.Now = clock.Now
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	spec := connect.Spec{Procedure: "/demo.v1.Orders/Chat", StreamType: connect.StreamTypeBidi}
	var sendErr, receiveErr error
	server := connect.NewServer(entraconnect.New(v, entra.NewMethodRules().Method(spec.Procedure), entra.WithCallCheckInterval(10*time.Millisecond)))
	server.Register(connect.Method{Spec: spec, Handler: func(ctx context.Context, _ connect.Spec, stream connect.ServerStream) error {
		clock.Advance(2 * time.Hour)
		<-ctx.Done() // the watch noticed
		sendErr, receiveErr = stream.Send(wrapperspb.String("late")), stream.Receive(&str{})
		return nil
	}})
	s := &stream{msg: wrapperspb.String("")}
	info := &connect.CallInfo{}
	info.RequestHeader().Set("Authorization", "Bearer "+auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}))
	err = server.Call(t.Context(), spec.Procedure, info, s)
	for name, err := range map[string]error{"the call": err, "Send": sendErr, "Receive": receiveErr} {
		if r := read(t, err, info); r.code != connect.CodeUnauthenticated || r.reason != string(entra.CodeTokenExpired) {
			t.Errorf("%s: %+v, want unauthenticated and token_expired", name, r)
		}
	}
	if s.sent != 0 || s.received != 0 {
		t.Errorf("the ended stream was written %d and read %d times", s.sent, s.received)
	}
	if !strings.Contains(info.ResponseTrailer().Get("Www-Authenticate"), `error="invalid_token"`) {
		t.Errorf("trailers %v", info.ResponseTrailer())
	}
}
