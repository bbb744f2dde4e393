package adaptertest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// failures is a testing.TB that records failures instead of failing.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// check runs fn with a recording TB on its own goroutine (Fatalf ends it)
// and returns the failures.
func check(t *testing.T, fn func(tb testing.TB)) []string {
	f := &failures{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msgs
}

func TestAssertRefusal(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	api := adaptertest.ReferenceAPI(t, v)
	do := func(path, token string) *http.Response {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec.Result()
	}

	// Real refusals pass for their own code.
	good := []struct {
		name  string
		res   func() *http.Response
		code  entra.Code
		scope string
	}{
		{"no token", func() *http.Response { return do("/api/me", "") }, entra.CodeTokenMissing, ""},
		{"malformed", func() *http.Response { return do("/api/me", "a.b.c") }, entra.CodeTokenMalformed, ""},
		{"forbidden", func() *http.Response { return do("/api/orders", srv.UserToken("Other")) }, entra.CodeForbidden, "Orders.Read"},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			var got adaptertest.Refusal
			if msgs := check(t, func(tb testing.TB) { got = adaptertest.AssertRefusal(tb, tc.res(), tc.code) }); len(msgs) > 0 {
				t.Fatalf("AssertRefusal failed a real %s refusal: %v", tc.code, msgs)
			}
			if got.Code != tc.code || got.Scope != tc.scope {
				t.Fatalf("Refusal = %+v", got)
			}
		})
	}

	// Wrong expectations and answers that are not refusals fail.
	bad := []struct {
		name string
		res  func() *http.Response
		code entra.Code
		want string
	}{
		{"another code", func() *http.Response { return do("/api/me", "a.b.c") }, entra.CodeTokenExpired, `want "token_expired"`},
		{"a success", func() *http.Response { return do("/api/me", srv.UserToken("Orders.Read")) }, entra.CodeForbidden, "not an entraguard refusal"},
		{"a challenge with an error code for a missing token", func() *http.Response {
			rec := httptest.NewRecorder()
			entra.ResponseFor(context.Background(), &entra.Error{Code: entra.CodeTokenMissing}).Write(rec)
			res := rec.Result()
			res.Header.Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
			return res
		}, entra.CodeTokenMissing, "gets none"},
		{"a 503 without Retry-After", func() *http.Response {
			rec := httptest.NewRecorder()
			entra.ResponseFor(context.Background(), &entra.Error{Code: entra.CodeKeysUnavailable}).Write(rec)
			res := rec.Result()
			res.Header.Del("Retry-After")
			return res
		}, entra.CodeKeysUnavailable, "without Retry-After"},
		{"a cacheable refusal", func() *http.Response {
			res := do("/api/me", "a.b.c")
			res.Header.Set("Cache-Control", "max-age=60")
			return res
		}, entra.CodeTokenMalformed, "no-store"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			msgs := check(t, func(tb testing.TB) { adaptertest.AssertRefusal(tb, tc.res(), tc.code) })
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
				t.Fatalf("failures %q, want one saying %q", msgs, tc.want)
			}
		})
	}
}
