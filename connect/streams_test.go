package entraconnect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	entraconnect "github.com/entraguard/entraguard/connect"
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

const procTicks = "/demo.v1.Orders/Ticks"

// openTicks serves a server-streaming procedure that sends a message every
// 5 ms until its stream fails, behind the interceptor of a validator with
// cfg checking calls every 10 ms, and opens a stream with token.
func openTicks(t *testing.T, cfg entra.Config, token string) *connect.ServerStreamForClient[str] {
	t.Helper()
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	i := entraconnect.New(v, entra.NewMethodRules().Method(procTicks), entra.WithCallCheckInterval(10*time.Millisecond))
	mux := http.NewServeMux()
	mux.Handle(procTicks, connect.NewServerStreamHandler(procTicks, func(ctx context.Context, _ *connect.Request[str], s *connect.ServerStream[str]) error {
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
	}, connect.WithInterceptors(i)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // bounds a failure only
	t.Cleanup(cancel)
	req := connect.NewRequest(wrapperspb.String(""))
	req.Header().Set("Authorization", "Bearer "+token)
	s, err := connect.NewClient[str, str](srv.Client(), srv.URL+procTicks).CallServerStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !s.Receive() {
		t.Fatalf("a fresh stream: %v", s.Err())
	}
	return s
}

// drain reads the stream until the server ends it, and returns how.
func drain(t *testing.T, s *connect.ServerStreamForClient[str]) refusal {
	t.Helper()
	for s.Receive() {
	}
	if s.Err() == nil {
		t.Fatal("the stream ended without an error")
	}
	return read(t, s.Err())
}

// An open stream ends with Unauthenticated (token_expired) once the
// validator's clock passes exp + ClockSkew.
func TestStreamEndsWhenTheTokenExpires(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	clock := newFakeClock()
	cfg := auth.Config()
	cfg.Now = clock.Now
	tok := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)})
	s := openTicks(t, cfg, tok)
	clock.Advance(time.Hour + entra.DefaultClockSkew - time.Second)
	for range 5 {
		if !s.Receive() {
			t.Fatalf("before exp + skew: %v", s.Err())
		}
	}
	clock.Advance(time.Second)
	if r := drain(t, s); r.code != connect.CodeUnauthenticated || r.reason != string(entra.CodeTokenExpired) {
		t.Errorf("ended with %+v, want unauthenticated and token_expired", r)
	}
}

// An open stream ends with Unauthenticated (token_revoked) once its caller
// is revoked in Config.Revocations; another caller's goes on.
func TestStreamEndsWhenTheCallerIsRevoked(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	list := entra.NewRevocationList(entra.RevocationListOptions{})
	cfg := auth.Config()
	cfg.Revocations = list
	tok := auth.UserToken("Orders.Read")
	other := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "5b1f8f52-7b4c-4d69-9d77-0c6f2a1e4c3d"}) // another user
	s := openTicks(t, cfg, tok)
	kept := openTicks(t, cfg, other)
	v, err := entra.NewValidator(auth.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	c, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := list.RevokeUser(c.TenantID(), c.ObjectID(), time.Time{}, "test"); err != nil {
		t.Fatal(err)
	}
	if r := drain(t, s); r.code != connect.CodeUnauthenticated || r.reason != string(entra.CodeTokenRevoked) {
		t.Errorf("ended with %+v, want unauthenticated and token_revoked", r)
	}
	time.Sleep(50 * time.Millisecond) // lets the other stream's checks run
	for range 3 {
		if !kept.Receive() {
			t.Fatalf("another user's stream ended too: %v", kept.Err())
		}
	}
}
