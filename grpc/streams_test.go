package entragrpc_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entragrpc "github.com/entraguard/entraguard/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// duplex answers each message of FullDuplexCall with one message.
type duplex struct {
	testpb.UnimplementedTestServiceServer
}

func (duplex) FullDuplexCall(s grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		if _, err := s.Recv(); err != nil {
			return err
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// fakeClock is a Config.Now the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// openDuplex serves duplex behind the stream interceptor of a validator
// with cfg, checking calls every 10 ms, and opens a stream with token.
func openDuplex(t *testing.T, cfg entra.Config, token string) grpc.BidiStreamingClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse] {
	t.Helper()
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := entragrpc.New(v, entra.NewMethodRules().Service("grpc.testing.TestService"), entra.WithCallCheckInterval(10*time.Millisecond))
	srv := grpc.NewServer(grpc.StreamInterceptor(g.Stream()))
	testpb.RegisterTestServiceServer(srv, duplex{})
	conn := listenServer(t, srv)
	ctx, cancel := context.WithCancel(withAuth(context.Background(), "Bearer "+token))
	t.Cleanup(cancel)
	s, err := testpb.NewTestServiceClient(conn).FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(s); err != nil {
		t.Fatalf("a fresh stream: %v", err)
	}
	return s
}

func roundTrip(s grpc.BidiStreamingClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	if err := s.Send(&testpb.StreamingOutputCallRequest{}); err != nil {
		_, err = s.Recv() // the status that ended the stream
		return err
	}
	_, err := s.Recv()
	return err
}

// waitEnd exchanges messages until the server ends the stream, and returns
// its status. The deadline only bounds a failure.
func waitEnd(t *testing.T, s grpc.BidiStreamingClient[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) refusal {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := roundTrip(s); err != nil {
			return read(t, err, s.Trailer())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the stream still serves")
	return refusal{}
}

// An open stream ends with Unauthenticated (token_expired, with the
// challenge) once the validator's clock passes exp + ClockSkew.
func TestStreamEndsWhenTheTokenExpires(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	clock := newFakeClock()
	cfg := auth.Config()
	cfg.Now = clock.Now
	tok := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)})
	s := openDuplex(t, cfg, tok)

	// Within exp + skew the stream serves.
	clock.Advance(time.Hour + entra.DefaultClockSkew - time.Second)
	for range 3 {
		if err := roundTrip(s); err != nil {
			t.Fatalf("before exp + skew: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // two checks
	}
	clock.Advance(time.Second)
	r := waitEnd(t, s)
	if r.code != codes.Unauthenticated || r.reason != string(entra.CodeTokenExpired) || r.challenge == "" {
		t.Errorf("ended with %+v, want Unauthenticated, token_expired and a challenge", r)
	}
}

// An open stream ends with Unauthenticated (token_revoked) once its caller
// is revoked in Config.Revocations.
func TestStreamEndsWhenTheCallerIsRevoked(t *testing.T) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	clock := newFakeClock()
	list := entra.NewRevocationList(entra.RevocationListOptions{})
	cfg := auth.Config()
	cfg.Now = clock.Now
	cfg.Revocations = list
	tok := auth.UserToken("Orders.Read")
	other := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "5b1f8f52-7b4c-4d69-9d77-0c6f2a1e4c3d"}) // another user, not revoked
	s := openDuplex(t, cfg, tok)
	kept := openDuplex(t, cfg, other)

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
	r := waitEnd(t, s)
	if r.code != codes.Unauthenticated || r.reason != string(entra.CodeTokenRevoked) {
		t.Errorf("ended with %+v, want Unauthenticated and token_revoked", r)
	}
	time.Sleep(50 * time.Millisecond) // lets the other stream's checks run
	if err := roundTrip(kept); err != nil {
		t.Errorf("another user's stream ended too: %v", err)
	}
}
