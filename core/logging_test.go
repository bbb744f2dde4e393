package entra_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// syncBuffer is a log sink that the validator's goroutines and the test can
// share.
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

// captureDefaultLog points slog.Default at a buffer for the test's life.
// Tests that use it must not run in parallel.
func captureDefaultLog(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

// Without Config.Logger, a validator whose key endpoint fails says so on
// slog.Default, truthfully (no keys were ever loaded), and later says when
// it recovered. Refusals, which are per request, are not logged there.
func TestDefaultLoggerReportsOutageAndRecovery(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusServiceUnavailable))
	cfg := srv.Config()
	cfg.Logger = nil
	v := newValidator(t, cfg)
	h := entra.Middleware(v)(http.HandlerFunc(okHandler))

	if rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: status %d, want 503", rec.Code)
	}
	srv.SetFault(entratest.EndpointJWKS, nil)
	// The background retry (backoff about a second) heals it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("Ready after the outage: %v", err)
	}
	if rec := get(t, h, "/", http.Header{"Authorization": {"Bearer not-a-token"}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("bad token: status %d, want 401", rec.Code)
	}
	out := logs.String()
	if !strings.Contains(out, "none were ever loaded") || !strings.Contains(out, "503") {
		t.Errorf("the cold failure was not logged truthfully:\n%s", out)
	}
	if strings.Contains(out, "keeping the last good keys") {
		t.Errorf("the log claims good keys that were never loaded:\n%s", out)
	}
	if !strings.Contains(out, "fetched again after a failure") {
		t.Errorf("the recovery was not logged:\n%s", out)
	}
	if strings.Contains(out, "request refused") {
		t.Errorf("a per-request line reached slog.Default:\n%s", out)
	}
}

// A discard logger turns logging off.
func TestDiscardLoggerIsSilent(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Times(1, entratest.Status(http.StatusServiceUnavailable)))
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.DiscardHandler)
	v := newValidator(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if out := logs.String(); strings.Contains(out, "entra:") {
		t.Errorf("slog.Default got lines with a discard Config.Logger:\n%s", out)
	}
}
