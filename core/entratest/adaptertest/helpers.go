package adaptertest

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// answerHeaders are the headers [SameAnswer] compares: those the core sets
// on every answer it writes.
var answerHeaders = []string{"Www-Authenticate", "Retry-After", "Cache-Control", "Content-Type"}

// SameAnswer fails t unless got carries the same status, the same
// WWW-Authenticate, Retry-After, Cache-Control and Content-Type headers and
// the same body as want, byte for byte. Use it to compare an adapter's
// refusal with the core's net/http middleware's answer to the same request.
func SameAnswer(t testing.TB, got, want *httptest.ResponseRecorder) {
	t.Helper()
	if got.Code != want.Code {
		t.Errorf("status %d, reference %d", got.Code, want.Code)
	}
	for _, h := range answerHeaders {
		if g, w := got.Header().Values(h), want.Header().Values(h); !slices.Equal(g, w) {
			t.Errorf("header %s = %q, reference %q", h, g, w)
		}
	}
	if g, w := got.Body.Bytes(), want.Body.Bytes(); !bytes.Equal(g, w) {
		t.Errorf("body %q, reference %q", g, w)
	}
}

// NewReadyValidator returns a validator that trusts srv, with
// srv.Config() changed by each edit in turn (e.g. to set a Logger), whose
// keys and metadata are loaded (Ready), and that t closes when it ends.
// Refusals then carry the same authorization_uri whichever request comes
// first, the adapter's or the reference's.
func NewReadyValidator(t testing.TB, srv *entratest.Server, edits ...func(*entra.Config)) *entra.Validator {
	t.Helper()
	cfg := srv.Config()
	for _, edit := range edits {
		edit(&cfg)
	}
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatalf("adaptertest: NewValidator: %v", err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatalf("adaptertest: Ready: %v", err)
	}
	return v
}

// LogTo returns an edit for [NewReadyValidator] that sends the validator's
// log to w as text.
func LogTo(w *LogBuffer) func(*entra.Config) {
	return func(cfg *entra.Config) { cfg.Logger = slog.New(slog.NewTextHandler(w, nil)) }
}

// LogBuffer is a log sink that is safe to read while a validator writes to
// it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Serve sends one request to h, with "Authorization: Bearer token" unless
// token is empty, and returns the answer.
func Serve(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// AssertModuleOmits fails t when the go.mod or go.sum of the module under
// test (the current directory, as go test runs it) names any of modules,
// such as other frameworks: a Gin user must never download Echo or Fiber
// because of entraguard's Gin adapter.
func AssertModuleOmits(t testing.TB, modules ...string) {
	t.Helper()
	for _, file := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("adaptertest: %v (run from the module's directory)", err)
		}
		for _, m := range modules {
			if strings.Contains(string(b), m) {
				t.Errorf("%s mentions %s", file, m)
			}
		}
	}
}
