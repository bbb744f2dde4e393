package entra_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// TestResponseFor checks that an *entra.Error returned by a handler, bare
// or wrapped, maps to the very answer the middleware gives for it, with the
// middleware's options, and that any other error is a 500 that reveals nothing.
func TestResponseFor(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	var got *entra.Response
	var handlerErr error
	h := entra.Middleware(v, entra.WithRealm("orders"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = entra.ResponseFor(r.Context(), handlerErr)
	}))
	ref := entra.Middleware(v, entra.WithRealm("orders"))(entra.RequireRole("Admin").Middleware(http.NotFoundHandler()))
	tok := srv.AppToken("Reader")
	want := get(t, ref, "/", http.Header{"Authorization": {"Bearer " + tok}})
	if want.Code != http.StatusForbidden {
		t.Fatalf("reference status %d", want.Code)
	}
	forbidden := entra.Authorize(entra.NewContext(context.Background(), mustValidate(t, v, tok)), entra.RequireRole("Admin")).Err

	for _, tc := range []struct {
		name string
		err  error
	}{
		{"bare", forbidden},
		{"wrapped", fmt.Errorf("loading the order: %w", forbidden)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			handlerErr, got = tc.err, nil
			get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
			if got == nil {
				t.Fatal("no Response for an *entra.Error")
			}
			rec := httptest.NewRecorder()
			got.Write(rec)
			if rec.Code != want.Code || rec.Body.String() != want.Body.String() ||
				rec.Header().Get("Www-Authenticate") != want.Header().Get("Www-Authenticate") {
				t.Errorf("answer %d %q %q, middleware's %d %q %q", rec.Code, rec.Header().Get("Www-Authenticate"), rec.Body,
					want.Code, want.Header().Get("Www-Authenticate"), want.Body)
			}
			if !errors.Is(got.Err, entra.ErrForbidden) {
				t.Errorf("Err %v, want forbidden", got.Err)
			}
		})
	}
	for _, err := range []error{nil, errors.New("database down"), fmt.Errorf("wrapped: %w", errors.New("database down"))} {
		handlerErr, got = err, nil
		get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
		if got == nil || got.Status != http.StatusInternalServerError || got.Err.Code != entra.CodeInternal ||
			strings.Contains(string(got.Body), "database") {
			t.Errorf("ResponseFor(%v) = %+v, want a 500 %q that reveals nothing", err, got, entra.CodeInternal)
		}
	}
}

// TestAuthenticateTokenResponseFor checks that the context AuthenticateToken
// returns on refusal makes ResponseFor answer with the Authenticator's
// options, and that the refusal is reported to its hook once, not twice.
func TestAuthenticateTokenResponseFor(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	var reported int
	a := entra.NewAuthenticator(v, entra.WithRealm("orders"), entra.OnRejected(func(context.Context, *entra.Error) { reported++ }))
	ctx, c, err := a.AuthenticateToken(context.Background(), "")
	if c != nil || !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatalf("AuthenticateToken(\"\") = %v, %v", c, err)
	}
	r := entra.ResponseFor(ctx, err)
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `realm="orders"`) {
		t.Errorf("answer %d %q, want 401 with realm orders", r.Status, r.Header.Get("WWW-Authenticate"))
	}
	if reported != 1 {
		t.Errorf("OnRejected called %d times, want 1", reported)
	}
	// A refusal of the app's own, through the same context, is reported.
	entra.ResponseFor(ctx, entra.ErrForbidden)
	if reported != 2 {
		t.Errorf("OnRejected called %d times after the app's refusal, want 2", reported)
	}
}

func TestCheckHeaderLimit(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	for _, tc := range []struct {
		maxTokenSize, want int
	}{
		{0, 16<<10 + len("Authorization: Bearer \r\n") + 8<<10},
		{4 << 10, 4<<10 + len("Authorization: Bearer \r\n") + 8<<10},
	} {
		cfg := srv.Config()
		cfg.MaxTokenSize = tc.maxTokenSize
		logs := &syncBuffer{} // the validator logs key loads from its own goroutines
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		v := newValidator(t, cfg)
		if got := v.RequestHeaderSize(); got != tc.want {
			t.Errorf("MaxTokenSize %d: RequestHeaderSize %d, want %d", tc.maxTokenSize, got, tc.want)
		}
		a := entra.NewAuthenticator(v)
		if !a.CheckHeaderLimit(t.Context(), tc.want, "fiber.Config.ReadBufferSize") || strings.Contains(logs.String(), "ReadBufferSize") {
			t.Errorf("a limit of %d: false or a log line %q", tc.want, logs.String())
		}
		if a.CheckHeaderLimit(t.Context(), 4096, "fiber.Config.ReadBufferSize") {
			t.Error("a limit of 4096 reported as enough")
		}
		fix := fmt.Sprintf("set fiber.Config.ReadBufferSize to %d or more", tc.want)
		if !strings.Contains(logs.String(), "level=WARN msg=\"entra: the server's request header limit") || !strings.Contains(logs.String(), fix) {
			t.Errorf("log %q does not say %q at WARN", logs.String(), fix)
		}
	}
}

// TestContextKey checks that the value stored under ContextKey, copied into
// another context (as the Fiber v3 adapter copies it into fiber's Locals),
// carries the same claims, and that a foreign value there carries none.
func TestContextKey(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	var ctx context.Context
	h := entra.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ctx = r.Context() }))
	get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}})
	want, ok := entra.ClaimsFromContext(ctx)
	if !ok {
		t.Fatal("no claims in the request's context")
	}
	k := entra.ContextKey()
	copied := context.WithValue(context.Background(), k, ctx.Value(k))
	if got, ok := entra.ClaimsFromContext(copied); !ok || got != want {
		t.Errorf("copied value: claims %p, %v; want %p", got, ok, want)
	}
	forged := context.WithValue(context.Background(), k, want)
	if got, ok := entra.ClaimsFromContext(forged); ok || got != nil {
		t.Errorf("a *Claims stored under the key by hand is taken as authenticated: %p", got)
	}
}
