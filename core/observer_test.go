package entra_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// recorder is an Observer that keeps every event.
type recorder struct {
	mu          sync.Mutex
	validations []entra.ValidationEvent
	refusals    []entra.RefusalEvent
	refreshes   chan entra.RefreshEvent
}

func newRecorder() *recorder { return &recorder{refreshes: make(chan entra.RefreshEvent, 16)} }

func (r *recorder) ObserveValidation(_ context.Context, ev entra.ValidationEvent) {
	r.mu.Lock()
	r.validations = append(r.validations, ev)
	r.mu.Unlock()
}

func (r *recorder) ObserveRefusal(_ context.Context, ev entra.RefusalEvent) {
	r.mu.Lock()
	r.refusals = append(r.refusals, ev)
	r.mu.Unlock()
}

func (r *recorder) ObserveRefresh(ev entra.RefreshEvent) { r.refreshes <- ev }

// take returns and forgets the validations and refusals seen so far.
func (r *recorder) take() ([]entra.ValidationEvent, []entra.RefusalEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, f := r.validations, r.refusals
	r.validations, r.refusals = nil, nil
	return v, f
}

func (r *recorder) nextRefresh(t *testing.T) entra.RefreshEvent {
	t.Helper()
	select {
	case ev := <-r.refreshes:
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no refresh event")
		return entra.RefreshEvent{}
	}
}

func TestObserverValidations(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	rec := newRecorder()
	cfg := srv.Config()
	cfg.Observer = rec
	cfg.CacheFirstSight = true // a hit from the second validation on
	v := newValidator(t, cfg)
	ev := rec.nextRefresh(t)
	if ev.Cause != entra.RefreshScheduled || ev.Err != nil || ev.Keys != 1 || !ev.Changed || ev.Duration <= 0 || ev.At.IsZero() {
		t.Fatalf("first refresh: %+v", ev)
	}
	ctx := ctxT(t)
	tok := srv.UserToken("Orders.Read")
	for range 2 {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Validate(ctx, "not-a-jwt"); !errors.Is(err, entra.ErrTokenMalformed) {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, ""); !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatal(err)
	}
	got, refusals := rec.take()
	want := []entra.ValidationEvent{
		{Cache: entra.CacheMiss, TenantID: srv.TenantID},
		{Cache: entra.CacheHit, TenantID: srv.TenantID},
		{Cache: entra.CacheMiss, Code: entra.CodeTokenMalformed},
		{Cache: entra.CacheOff, Code: entra.CodeTokenMissing},
	}
	if !equalEvents(got, want) || len(refusals) != 0 {
		t.Fatalf("validations %+v, refusals %+v; want %+v and none", got, refusals, want)
	}

	// Through the middleware: one validation per request (the cache-hit
	// fast path included), one refusal per refused request.
	h := entra.Middleware(v)(entra.RequireRole("Admin").Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	for _, auth := range []string{"", "Bearer " + tok, "Bearer not-a-jwt"} {
		r := httptest.NewRequest("GET", "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	got, refusals = rec.take()
	want = []entra.ValidationEvent{
		{Cache: entra.CacheHit, TenantID: srv.TenantID},
		{Cache: entra.CacheMiss, Code: entra.CodeTokenMalformed},
	}
	wantRefusals := []entra.RefusalEvent{
		{Code: entra.CodeTokenMissing, Status: 401},
		{Code: entra.CodeForbidden, Status: 403},
		{Code: entra.CodeTokenMalformed, Status: 401},
	}
	if !equalEvents(got, want) || !equalEvents(refusals, wantRefusals) {
		t.Fatalf("validations %+v, refusals %+v; want %+v, %+v", got, refusals, want, wantRefusals)
	}
}

func TestObserverCacheOff(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	rec := newRecorder()
	cfg := srv.Config()
	cfg.Observer = rec
	cfg.CacheSize = -1
	v := newValidator(t, cfg)
	rec.nextRefresh(t)
	if _, err := v.Validate(ctxT(t), srv.AppToken("Admin")); err != nil {
		t.Fatal(err)
	}
	got, _ := rec.take()
	if want := []entra.ValidationEvent{{Cache: entra.CacheOff, TenantID: srv.TenantID}}; !equalEvents(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestObserverRefreshes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	rec := newRecorder()
	cfg := srv.Config()
	cfg.Observer = rec
	v := newValidator(t, cfg)
	rec.nextRefresh(t)

	// A token signed with a key published after the last refresh: the
	// validator refreshes for the unknown kid and accepts it.
	kid := srv.AddKey()
	tok := srv.Mint(entratest.Token{KeyID: kid, Scopes: []string{"Orders.Read"}})
	if _, err := v.Validate(ctxT(t), tok); err != nil {
		t.Fatal(err)
	}
	ev := rec.nextRefresh(t)
	if ev.Cause != entra.RefreshUnknownKey || ev.Err != nil || ev.Keys != 2 || !ev.Changed {
		t.Fatalf("unknown-kid refresh: %+v", ev)
	}
}

func TestObserverFailedRefresh(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusInternalServerError))
	rec := newRecorder()
	cfg := srv.Config()
	cfg.Observer = rec
	v := newValidator(t, cfg)
	ev := rec.nextRefresh(t)
	if ev.Cause != entra.RefreshScheduled || ev.Err == nil || ev.Keys != 0 || ev.Changed {
		t.Fatalf("failed refresh: %+v", ev)
	}
	_, err := v.Validate(ctxT(t), srv.UserToken("Orders.Read"))
	if !errors.Is(err, entra.ErrKeysUnavailable) {
		t.Fatal(err)
	}
	got, _ := rec.take()
	if want := []entra.ValidationEvent{{Cache: entra.CacheMiss, Code: entra.CodeKeysUnavailable}}; !equalEvents(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func equalEvents[E comparable](a, b []E) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// refusalCounter implements only what it needs, embedding NopObserver.
type refusalCounter struct {
	entra.NopObserver
	n atomic.Int32
}

func (r *refusalCounter) ObserveRefusal(context.Context, entra.RefusalEvent) { r.n.Add(1) }

func TestNopObserverEmbedded(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	rc := &refusalCounter{}
	cfg := srv.Config()
	cfg.Observer = rc
	v := newValidator(t, cfg)
	h := entra.Middleware(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if rc.n.Load() != 1 {
		t.Fatalf("%d refusals observed, want 1", rc.n.Load())
	}
}

// BenchmarkValidateCachedObserved is BenchmarkValidateCached with an
// observer set: the cost of reporting a cache hit.
func BenchmarkValidateCachedObserved(b *testing.B) {
	srv := entratest.NewServer()
	b.Cleanup(srv.Close)
	cfg := srv.Config()
	cfg.Observer = entra.NopObserver{} // the cheapest observer: what any costs at least
	v := newValidator(b, cfg)
	if err := v.Ready(ctxT(b)); err != nil {
		b.Fatal(err)
	}
	tok := srv.UserToken("Orders.Read", "Orders.Write")
	ctx := ctxT(b)
	if _, err := v.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
