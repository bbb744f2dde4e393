package entra_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// stuck is a fault that holds every request until released (or the
// client goes away), and reports each request as it arrives: a fetch that
// hangs for as long as the test wants, with no timer involved.
type stuck struct {
	arrived             chan struct{} // closed when the first request arrives
	release             chan struct{}
	arrivedOnce, unOnce sync.Once
}

func newStuck() *stuck {
	return &stuck{arrived: make(chan struct{}), release: make(chan struct{})}
}

func (s *stuck) fault() entratest.Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		s.arrivedOnce.Do(func() { close(s.arrived) })
		select {
		case <-s.release:
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}
}

func (s *stuck) unstick() { s.unOnce.Do(func() { close(s.release) }) }

// returnsAfterCancel starts n calls of f with one context, waits until a
// fetch has reached the authority (and hangs there), cancels the context,
// and returns the calls' errors. The fetch
// stays stuck throughout: a call that waited for the fetch rather than for
// its context would never return, and the test fails after a minute
// instead of hanging.
func returnsAfterCancel(t *testing.T, s *stuck, n int, f func(ctx context.Context) error) []error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() { errs <- f(ctx) }()
	}
	select {
	case <-s.arrived:
	case <-time.After(time.Minute):
		t.Fatal("no fetch reached the authority")
	}
	cancel()
	var out []error
	for range n {
		select {
		case err := <-errs:
			out = append(out, err)
		case <-time.After(time.Minute):
			t.Fatalf("%d of %d calls still wait for a stuck fetch after their context ended", n-len(out), n)
		}
	}
	return out
}

// A request waits for keys no longer than its own context, however long
// the fetch it waits for takes: cold (no keys yet), for an unknown kid
// (a refresh in flight), and in Ready. The fetch here never ends on its own
// (FetchTimeout is an hour), so a request that returned did so because its
// context ended.
func TestRequestsEndWithTheirContextWhileFetchHangs(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cold := newStuck()
	defer cold.unstick()
	srv.SetFault(entratest.EndpointJWKS, cold.fault())
	cfg := srv.Config()
	cfg.FetchTimeout = time.Hour
	cfg.MinRefreshInterval = time.Nanosecond
	v := newValidator(t, cfg)
	tok := srv.UserToken("a")

	for _, err := range returnsAfterCancel(t, cold, 20, func(ctx context.Context) error { _, err := v.Validate(ctx, tok); return err }) {
		if !errors.Is(err, entra.ErrKeysUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("cold, context ended: got %v, want %v caused by the context", err, entra.ErrKeysUnavailable)
		}
	}
	for _, err := range returnsAfterCancel(t, cold, 1, v.Ready) {
		if !errors.Is(err, entra.ErrKeysUnavailable) {
			t.Errorf("Ready, context ended: got %v, want %v", err, entra.ErrKeysUnavailable)
		}
	}

	// Warm: a refresh for an unknown kid hangs; known keys keep serving.
	srv.ClearFaults()
	cold.unstick()
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	warm := newStuck()
	defer warm.unstick()
	srv.SetFault(entratest.EndpointJWKS, warm.fault())
	newTok := srv.Mint(entratest.Token{KeyID: srv.AddKey(), Scopes: []string{"a"}})
	for _, err := range returnsAfterCancel(t, warm, 20, func(ctx context.Context) error { _, err := v.Validate(ctx, newTok); return err }) {
		if !errors.Is(err, entra.ErrUnknownKey) {
			t.Errorf("unknown kid, context ended: got %v, want %v", err, entra.ErrUnknownKey)
		}
	}
	if _, err := v.Validate(ctxT(t), tok); err != nil {
		t.Errorf("a known key while a refresh hangs: %v", err)
	}
	// Once the fetch completes, the new key is there.
	warm.unstick()
	entra.WaitForFetch(ctxT(t), v)
	srv.ClearFaults()
	if _, err := v.Validate(ctxT(t), newTok); err != nil {
		t.Errorf("after the stuck refresh completed: %v", err)
	}
}
