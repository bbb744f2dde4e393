package entra_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// A renderer and an OnRejected hook that rewrite the scopes of the error
// they are given (a natural thing to do: map scope names for clients)
// change neither the guard nor later answers. Run with -race: the
// requests run concurrently, so sharing the Requirement's slice would be
// reported as a race as well as seen in the answers.
func TestMutatingRendererDoesNotChangeTheGuard(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	tok := srv.UserToken("Orders.Read")
	rename := func(scopes []string) {
		for i := range scopes {
			scopes[i] = "api://renamed/" + scopes[i]
		}
	}
	guard := entra.AnyOf(entra.RequireScope("Orders.Write", "Orders.Admin"), entra.RequireAllScopes("Orders.Read", "Orders.Write"))
	h := entra.Middleware(v,
		entra.WithErrorRenderer(func(e *entra.Error, r *entra.Response) {
			rename(e.Scopes)
			e.Scopes = append(e.Scopes[:len(e.Scopes):len(e.Scopes)], "extra")
		}),
		entra.OnRejected(func(_ context.Context, e *entra.Error) { rename(e.Scopes) }),
	)(guard.Middleware(http.HandlerFunc(okHandler)))
	const want = `scope="Orders.Write Orders.Admin Orders.Read Orders.Write"`
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
				if rec.Code != http.StatusForbidden || !strings.Contains(rec.Header().Get("WWW-Authenticate"), want) {
					t.Errorf("answer %d %q, want 403 with %s", rec.Code, rec.Header().Get("WWW-Authenticate"), want)
					return
				}
			}
		})
	}
	wg.Wait()
	// Nor does a caller of Check who changes the error it got.
	c, err := v.Validate(ctxT(t), tok)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var e *entra.Error
		if !errors.As(guard.Check(c), &e) || !errors.Is(e, entra.ErrForbidden) {
			t.Fatalf("Check: %v, want %v", e, entra.ErrForbidden)
		}
		if got := []string{"Orders.Write", "Orders.Admin", "Orders.Read", "Orders.Write"}; !slices.Equal(e.Scopes, got) {
			t.Fatalf("Check's scopes %q, want %q", e.Scopes, got)
		}
		rename(e.Scopes)
	}
	// An error the application keeps and writes again is copied too.
	mine := &entra.Error{Code: entra.CodeForbidden, Description: "no", Scopes: []string{"a"}}
	renderer := entra.NewAuthenticator(v, entra.WithErrorRenderer(func(e *entra.Error, _ *entra.Response) { rename(e.Scopes) }))
	for range 2 {
		if r := entra.ResponseFor(renderer.Skipped(ctxT(t)), mine); !strings.Contains(r.Header.Get("WWW-Authenticate"), `scope="a"`) {
			t.Fatalf("answer to the application's error: %q", r.Header.Get("WWW-Authenticate"))
		}
	}
	if mine.Scopes[0] != "a" {
		t.Fatalf("the renderer changed the application's error: %q", mine.Scopes)
	}
}

// WithSkipPaths compares the escaped path: "/health%2Flive", which ServeMux
// routes to the protected /{id} (its single segment decodes to
// "health/live"), is authenticated, while "/health/live" is skipped.
func TestSkipPathsMatchesTheEscapedPath(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("live")) })
	mux.HandleFunc("GET /{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secret " + r.PathValue("id"))) })
	h := entra.Middleware(v, entra.WithSkipPaths("/health/live", "/a%20b"))(mux)
	if rec := get(t, h, "/health/live", nil); rec.Code != http.StatusOK || rec.Body.String() != "live" {
		t.Errorf("/health/live: %d %q, want 200 live", rec.Code, rec.Body)
	}
	// A path written escaped matches its escaped form.
	if rec := get(t, h, "/a%20b", nil); rec.Code != http.StatusOK || rec.Body.String() != "secret a b" {
		t.Errorf("/a%%20b: %d %q, want it skipped", rec.Code, rec.Body)
	}
	for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live", "/health/live/", "/a%20%62"} {
		rec := get(t, h, p, nil)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"code":"token_missing"`) {
			t.Errorf("%s was not authenticated: %d %q", p, rec.Code, rec.Body)
		}
	}
}

// WithSkipPaths refuses at set-up a path that could never match an escaped
// request path, or would match one it does not name.
func TestSkipPathsPanicsOnUnescapedPaths(t *testing.T) {
	for _, p := range []string{"", "healthz", "/a b", "/x?y=1", "/x?", "/x#y", "http://host/x", "/%zz"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "WithSkipPaths") {
					t.Errorf("WithSkipPaths(%q): panic %v, want one naming WithSkipPaths", p, r)
				}
			}()
			entra.WithSkipPaths(p)
		}()
	}
	for _, p := range []string{"/", "/healthz", "/health/live", "/a%20b", "/health%2Flive"} {
		entra.WithSkipPaths(p) // must not panic
	}
}

// Keys returns copies: a caller that changes the keys and certificates it
// got (here, to an attacker's key) changes nothing the validator verifies
// with, and the next call returns the published keys again.
func TestKeysReturnsCopies(t *testing.T) {
	w, err := fuzzWorldOnce()
	if err != nil {
		t.Fatal(err)
	}
	v := newMemValidator(t, w, w.goodJWKS)
	defer v.Close()
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	keys := v.Keys()
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
	for _, k := range keys {
		switch pub := k.PublicKey.(type) {
		case *rsa.PublicKey:
			pub.N.Set(w.other.N)
			pub.E = w.other.E
			if k.Certificate == nil {
				t.Fatal("the RSA key lost its certificate")
			}
			k.Certificate.PublicKey.(*rsa.PublicKey).N.Set(w.other.N)
			k.Certificate.Raw[len(k.Certificate.Raw)-1] ^= 0xff
		case *ecdsa.PublicKey:
			*pub = w.otherEC.PublicKey
		default:
			t.Fatalf("key %s is a %T", k.ID, k.PublicKey)
		}
	}
	for _, tok := range []string{w.goodRS, w.goodES} {
		if _, err := v.Validate(ctxT(t), tok); err != nil {
			t.Errorf("genuine token refused after the returned keys were changed: %v", err)
		}
	}
	for _, tok := range []string{w.otherRS, w.otherES} {
		if _, err := v.Validate(ctxT(t), tok); !errors.Is(err, entra.ErrSignatureInvalid) {
			t.Errorf("a token of the key written into the copies: %v, want %v", err, entra.ErrSignatureInvalid)
		}
	}
	for _, k := range v.Keys() {
		switch pub := k.PublicKey.(type) {
		case *rsa.PublicKey:
			if pub.N.Cmp(w.good.N) != 0 || pub.E != w.good.E || k.Certificate.PublicKey.(*rsa.PublicKey).N.Cmp(w.good.N) != 0 || !slices.Equal(k.Certificate.Raw, w.goodCert) {
				t.Error("Keys returned a changed RSA key")
			}
		case *ecdsa.PublicKey:
			if !pub.Equal(&w.goodEC.PublicKey) {
				t.Error("Keys returned a changed EC key")
			}
		}
	}
}
