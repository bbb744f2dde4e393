package entra_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// The net/http middleware passes the shared conformance table (which the
// adapters run too), over a real HTTP server.
func TestMiddlewareConformance(t *testing.T) {
	adaptertest.RunMiddlewareTests(t, func(t *testing.T, v *entra.Validator, opts ...entra.Option) http.Handler {
		return adaptertest.ReferenceAPI(t, v, opts...)
	})
}

func okHandler(w http.ResponseWriter, r *http.Request) {
	c, ok := entra.ClaimsFromContext(r.Context())
	if !ok {
		_, _ = io.WriteString(w, "anonymous")
		return
	}
	_, _ = io.WriteString(w, c.ObjectID())
}

func get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestTokenSources(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	tok := srv.UserToken("Orders.Read")
	h := entra.Middleware(v, entra.WithTokenFromHeader("X-Api-Token"), entra.WithTokenFromCookie("at"), entra.WithTokenFromQuery())(http.HandlerFunc(okHandler))
	plain := entra.Middleware(v)(http.HandlerFunc(okHandler))
	tests := []struct {
		name   string
		h      http.Handler
		target string
		header http.Header
		status int
	}{
		{"named header", h, "/", http.Header{"X-Api-Token": {tok}}, 200},
		{"named header with Bearer", h, "/", http.Header{"X-Api-Token": {"Bearer " + tok}}, 200},
		{"cookie", h, "/", http.Header{"Cookie": {"at=" + tok}}, 200},
		{"query when enabled", h, "/?access_token=" + url.QueryEscape(tok), nil, 200},
		{"query off by default", plain, "/?access_token=" + url.QueryEscape(tok), nil, 401},
		{"cookie off by default", plain, "/", http.Header{"Cookie": {"at=" + tok}}, 401},
		{"two places at once", h, "/", http.Header{"Authorization": {"Bearer " + tok}, "X-Api-Token": {tok}}, 400},
		{"two named headers", h, "/", http.Header{"X-Api-Token": {tok, tok}}, 400},
		{"Authorization still works", h, "/", http.Header{"Authorization": {"Bearer " + tok}}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, tc.h, tc.target, tc.header)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

func TestSkipPathsAndOptional(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	h := entra.Middleware(v, entra.WithSkipPaths("/healthz"))(http.HandlerFunc(okHandler))
	if rec := get(t, h, "/healthz", nil); rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Errorf("skipped path: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/healthz/x", nil); rec.Code != 401 {
		t.Errorf("only exact paths are skipped: %d", rec.Code)
	}
	opt := entra.Middleware(v, entra.WithOptionalToken())(http.HandlerFunc(okHandler))
	if rec := get(t, opt, "/", nil); rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Errorf("optional without token: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, opt, "/", http.Header{"Authorization": {"Bearer x.y.z"}}); rec.Code != 401 {
		t.Errorf("optional with a bad token: %d", rec.Code)
	}
	guarded := entra.Middleware(v, entra.WithOptionalToken())(entra.RequireScope("a").Middleware(http.HandlerFunc(okHandler)))
	if rec := get(t, guarded, "/", nil); rec.Code != 401 {
		t.Errorf("guard behind optional auth let an anonymous request through: %d", rec.Code)
	}
	// A guard without the middleware refuses (fail closed).
	if rec := get(t, entra.RequireScope("a").Middleware(http.HandlerFunc(okHandler)), "/", nil); rec.Code != 500 {
		t.Errorf("guard without middleware: %d", rec.Code)
	}
}

// A guard that runs on a request the middleware never read (no middleware
// in front, or a path listed in WithSkipPaths) stays closed but does not tell
// the client that no token was sent: nothing read the token. It answers a
// 500 that says nothing of the cause, with or without a token, and logs
// the mistake once per route to the Validator's logger.
func TestGuardWithoutMiddlewareAnswersTruthfully(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	var logs syncBuffer
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	v := newValidator(t, cfg)
	guard := entra.RequireRole("Admin")
	var ran int
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran++ })
	bare, skip := fresh("/bare"), fresh("/skipped")
	mux := http.NewServeMux()
	mux.Handle("GET "+bare+"/{id}", guard.Middleware(h))
	skippedMux := http.NewServeMux()
	skippedMux.Handle("GET "+skip, guard.Middleware(h))
	skipped := entra.Middleware(v, entra.WithSkipPaths(skip))(skippedMux)
	tok := http.Header{"Authorization": {"Bearer " + srv.AppToken("Admin")}}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		target string
		header http.Header
	}{
		{"no middleware, a valid token", mux, bare + "/1", tok},
		{"no middleware, no token", mux, bare + "/2", nil},
		{"skipped path, a valid token", skipped, skip, tok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, tc.h, tc.target, tc.header)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			if body := rec.Body.String(); body != `{"error":"server_error","error_description":"the request could not be authenticated","code":"internal"}` {
				t.Errorf("body %s tells the client more than a server error", body)
			}
			if rec.Header().Get("Www-Authenticate") != "" {
				t.Errorf("WWW-Authenticate %q: a 500 carries no challenge", rec.Header().Get("Www-Authenticate"))
			}
		})
	}
	if ran != 0 {
		t.Errorf("the handler ran %d times behind a guard that refused", ran)
	}
	out := logs.String()
	if n := strings.Count(out, "did not pass through the authentication middleware"); n != 1 || !strings.Contains(out, `route="GET `+bare+`/{id}"`) {
		t.Errorf("want one line naming the route GET /bare/{id}, got:\n%s", out)
	}
	if n := strings.Count(out, "listed in WithSkipPaths"); n != 1 || !strings.Contains(out, `route="GET `+skip+`"`) {
		t.Errorf("want one line for the skipped path, got:\n%s", out)
	}
}

func TestWithoutScopeOrRoleCheck(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	idToken := srv.Mint(entratest.Token{})
	hdr := http.Header{"Authorization": {"Bearer " + idToken}}
	if rec := get(t, entra.Middleware(v)(http.HandlerFunc(okHandler)), "/", hdr); rec.Code != 401 || !strings.Contains(rec.Body.String(), "no_scope_or_role") {
		t.Errorf("default policy: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, entra.Middleware(v, entra.WithoutScopeOrRoleCheck())(http.HandlerFunc(okHandler)), "/", hdr); rec.Code != 200 {
		t.Errorf("WithoutScopeOrRoleCheck: %d %s", rec.Code, rec.Body)
	}
}

func TestHooksAndLoggingNeverSeeTheToken(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	var logs bytes.Buffer
	var authed, rejected atomic.Int32
	var lastCode atomic.Value
	h := entra.Middleware(v,
		entra.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		entra.OnAuthenticated(func(ctx context.Context, c *entra.Claims) { authed.Add(1) }),
		entra.OnRejected(func(ctx context.Context, e *entra.Error) { rejected.Add(1); lastCode.Store(e.Code) }),
	)(entra.RequireRole("Admin").Middleware(http.HandlerFunc(okHandler)))
	good := srv.AppToken("Admin")
	weak := srv.AppToken("Reader")
	bad := good[:len(good)-8] + "AAAAAAAA"
	for _, tok := range []string{good, weak, bad} {
		get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
	}
	if authed.Load() != 2 || rejected.Load() != 2 {
		t.Errorf("OnAuthenticated %d times, OnRejected %d times; want 2 and 2", authed.Load(), rejected.Load())
	}
	if lastCode.Load() != entra.CodeSignatureInvalid {
		t.Errorf("last rejection code %v", lastCode.Load())
	}
	for _, tok := range []string{good, weak, bad} {
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 16 && strings.Contains(logs.String(), part) {
				t.Fatalf("a log line contains part of a token")
			}
		}
	}
	if !strings.Contains(logs.String(), `"code":"forbidden"`) || !strings.Contains(logs.String(), `"code":"signature_invalid"`) {
		t.Errorf("logs do not record the rejection codes: %s", logs.String())
	}
}

func TestErrorRendererCannotTurnRefusalIntoSuccess(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	h := entra.Middleware(v, entra.WithErrorRenderer(func(e *entra.Error, r *entra.Response) {
		r.Status = 200
		r.Body = []byte(`{"message":"custom ` + string(e.Code) + `"}`)
	}))(http.HandlerFunc(okHandler))
	rec := get(t, h, "/", nil)
	if rec.Code != 401 || rec.Body.String() != `{"message":"custom token_missing"}` {
		t.Fatalf("renderer: %d %s", rec.Code, rec.Body)
	}
}

func TestResponseMapping(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		status    int
		challenge string
		retry     string
	}{
		{"missing", entra.ErrTokenMissing, 401, `Bearer realm=""`, ""},
		{"expired", &entra.Error{Code: entra.CodeTokenExpired, Description: `say "hi" \ bye`}, 401, `Bearer realm="", error="invalid_token", error_description="say \"hi\" \\ bye"`, ""},
		{"header injection", &entra.Error{Code: entra.CodeSignatureInvalid, Description: "a\r\nSet-Cookie: x=1"}, 401, `error_description="a??Set-Cookie: x=1"`, ""},
		{"forbidden with scope", &entra.Error{Code: entra.CodeForbidden, Description: "d", Scopes: []string{"A", "B"}}, 403, `error="insufficient_scope", error_description="d", scope="A B"`, ""},
		{"overage", &entra.Error{Code: entra.CodeGroupsOverage, Description: "d"}, 403, `error="insufficient_scope"`, ""},
		{"claims challenge", entra.ClaimsChallenge(`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`), 401, `error="insufficient_claims", error_description=`, ""},
		{"keys unavailable", &entra.Error{Code: entra.CodeKeysUnavailable, RetryAfter: 0}, 503, "", "1"},
		{"bad request", entra.ErrInvalidRequest, 400, `error="invalid_request"`, ""},
		{"plain error", io.ErrUnexpectedEOF, 500, "", ""},
		{"config error", entra.ErrConfigInvalid, 500, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := entra.ResponseFor(context.Background(), tc.err)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d", r.Status, tc.status)
			}
			ch := r.Header.Get("WWW-Authenticate")
			if !strings.Contains(ch, tc.challenge) || (tc.challenge == "" && ch != "") {
				t.Errorf("WWW-Authenticate = %q, want %q", ch, tc.challenge)
			}
			if strings.ContainsAny(ch, "\r\n") {
				t.Errorf("header has a line break")
			}
			if got := r.Header.Get("Retry-After"); got != tc.retry {
				t.Errorf("Retry-After = %q, want %q", got, tc.retry)
			}
			var body map[string]string
			if err := json.Unmarshal(r.Body, &body); err != nil || body["error"] == "" || body["error_description"] == "" {
				t.Errorf("body %s", r.Body)
			}
			if tc.status == 500 && (strings.Contains(string(r.Body), "EOF") || body["code"] != "internal") {
				t.Errorf("500 reveals its cause: %s", r.Body)
			}
		})
	}
	r := entra.ResponseFor(context.Background(), entra.ClaimsChallenge(`{"a":1}`))
	if !strings.Contains(r.Header.Get("WWW-Authenticate"), `claims="`+base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))+`"`) {
		t.Errorf("claims challenge = %q", r.Header.Get("WWW-Authenticate"))
	}
}

func TestIntrospectionHandler(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	h := entra.IntrospectionHandler(v)
	post := func(ct, body string) (int, map[string]any) {
		req := httptest.NewRequest("POST", "/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	tok := srv.UserToken("Orders.Read")
	code, m := post("application/json", `{"identity_provider":"entra_id","token":"`+tok+`"}`)
	if code != 200 || m["active"] != true || m["tid"] != srv.TenantID || m["scp"] != "Orders.Read" {
		t.Errorf("valid token: %d %v", code, m)
	}
	code, m = post("application/x-www-form-urlencoded", "identity_provider=azuread&token="+url.QueryEscape(tok))
	if code != 200 || m["active"] != true {
		t.Errorf("form: %d %v", code, m)
	}
	code, m = post("application/json", `{"identity_provider":"entra_id","token":"`+tok[:len(tok)-5]+`AAAAA"}`)
	if code != 200 || m["active"] != false || m["error"] == "" || len(m) != 2 {
		t.Errorf("forged token: %d %v", code, m)
	}
	code, m = post("application/json", `{"identity_provider":"tokenx","token":"`+tok+`"}`)
	if code != 200 || m["active"] != false {
		t.Errorf("other provider: %d %v", code, m)
	}
	code, _ = post("application/json", `{not json`)
	if code != 400 {
		t.Errorf("bad body: %d", code)
	}
	code, _ = post("application/json", `{"token":"`+strings.Repeat("A", 70000)+`"}`)
	if code != 413 {
		t.Errorf("huge body: %d", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/introspect", nil))
	if rec.Code != 405 {
		t.Errorf("GET: %d", rec.Code)
	}
}

// lendingRequest lends its Authorization header from one buffer that it
// overwrites between requests, as fasthttp does.
type lendingRequest struct {
	buf   []byte
	reads *int
}

func (r lendingRequest) HeaderBytes(name string) [][]byte {
	*r.reads++
	if name != "Authorization" {
		return nil
	}
	return [][]byte{r.buf}
}
func (r lendingRequest) HeaderValues(name string) []string {
	if name != "Authorization" {
		return nil
	}
	return []string{string(r.buf)} // a copy, as an adapter must make
}
func (r lendingRequest) Cookie(string) string { return "" }
func (r lendingRequest) Query(string) string  { return "" }
func (r lendingRequest) Path() string         { return "/" }

// A framework that lends header bytes (Fiber) gets cache hits without a
// copy, and nothing the core returns or keeps aliases the lent buffer.
func TestHeaderBytesRequest(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheFirstSight = true // a hit from the second request on
	v := newValidator(t, cfg)
	a := entra.NewAuthenticator(v)
	ctx := ctxT(t)
	tokA, tokB := srv.UserToken("Orders.Read"), srv.AppToken("Admin")
	buf := make([]byte, 0, 4096)
	reads := 0
	serve := func(tok string) *entra.Claims {
		t.Helper()
		buf = append(buf[:0], "Bearer "+tok...)
		cctx, resp := a.Authenticate(ctx, lendingRequest{buf: buf, reads: &reads})
		if resp != nil {
			t.Fatalf("refused: %s", resp.Body)
		}
		c, _ := entra.ClaimsFromContext(cctx)
		return c
	}
	first := serve(tokA) // miss: validated from a copy
	oid, scopes := first.ObjectID(), first.Scopes()
	if reads != 1 {
		t.Fatalf("HeaderBytes read %d times", reads)
	}
	if again := serve(tokA); again != first {
		t.Fatal("a repeated token lent as bytes was not served from the cache")
	}
	// Overwrite the lent buffer with other tokens: the claims handed out
	// and the cache's keys are unaffected.
	for range 50 {
		serve(tokB)
		for i := range buf[:cap(buf)] {
			buf[:cap(buf)][i] = 'x'
		}
	}
	if first.ObjectID() != oid || !slices.Equal(first.Scopes(), scopes) {
		t.Fatal("claims changed with the lent buffer")
	}
	if again := serve(tokA); again != first {
		t.Fatal("the cache entry of the first token was changed by the lent buffer")
	}
	// Refusals and two headers still take the copying path.
	buf = append(buf[:0], "Bearer x.y.z"...)
	if _, resp := a.Authenticate(ctx, lendingRequest{buf: buf, reads: &reads}); resp == nil || resp.Status != 401 {
		t.Fatal("a bad lent token was not refused")
	}
}

// A hook that changes the Error it is given changes neither the next
// answer nor the sentinels.
func TestHooksCannotChangeSharedErrors(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	h := entra.Middleware(v, entra.OnRejected(func(_ context.Context, e *entra.Error) {
		e.Code, e.Description = "hacked", "hacked"
	}), entra.WithErrorRenderer(func(e *entra.Error, r *entra.Response) { e.Scopes = []string{"x"} }))(http.HandlerFunc(okHandler))
	for range 2 {
		rec := get(t, h, "/", nil)
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"code":"token_missing"`) {
			t.Fatalf("answer changed by a hook: %d %s", rec.Code, rec.Body)
		}
	}
	if entra.ErrTokenMissing.Code != entra.CodeTokenMissing || entra.ErrForbidden.Scopes != nil {
		t.Fatal("a sentinel was changed")
	}
}

// A handler that reads the claims of a request no middleware saw (the route
// is open to anyone) is reported once per route, naming the route's pattern
// and the fix, to the Validator's logger; nothing of the request is logged.
// Requests that passed through the middleware (anonymous under WithOptionalToken,
// or skipped) are not reported.
func TestClaimsReadWithoutMiddlewareIsReported(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	var logs syncBuffer
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	v := newValidator(t, cfg)
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := entra.ClaimsFromRequest(r); ok {
			_, _ = io.WriteString(w, "claims")
		}
	})
	open := fresh("/open")
	mux := http.NewServeMux()
	mux.Handle("GET "+open+"/{id}", read)                                                // the mistake
	mux.Handle("GET /anonymous", entra.Middleware(v, entra.WithOptionalToken())(read))   // fine
	mux.Handle("GET /health", entra.Middleware(v, entra.WithSkipPaths("/health"))(read)) // fine
	mux.Handle("GET /api/{id}", entra.Middleware(v)(read))                               // fine
	tok := http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}}
	for _, p := range []string{open + "/1", open + "/2", "/anonymous", "/health", "/api/1"} {
		h := tok
		if p == "/anonymous" {
			h = nil
		}
		if rec := get(t, mux, p, h); rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once (for GET %s/{id}):\n%s", n, open, out)
	}
	if !strings.Contains(out, `route="GET `+open+`/{id}"`) || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "put Authenticate in front of the route") {
		t.Errorf("the line does not name the route and the fix at WARN:\n%s", out)
	}
	if strings.Contains(out, open+"/1") || strings.Contains(out, tok.Get("Authorization")[len("Bearer "):]) {
		t.Errorf("the line carries the request's path or token:\n%s", out)
	}
}

// runs makes routes unique to one run of a test: a route is reported once
// per process, and go test -count=N runs each test N times in one.
var runs atomic.Int32

// fresh returns "/r<n>" followed by name, a route no earlier run used.
func fresh(name string) string { return fmt.Sprintf("/r%d%s", runs.Add(1), name) }

// A guard mounted without the middleware in front of it refuses (500,
// saying nothing of the cause), and the mistake is logged once, naming the
// route, to the logger of the Validator of the middleware built last
// (slog.Default when that Validator has no Config.Logger).
func TestGuardWithoutMiddlewareIsLoggedOnce(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := entratest.NewServer()
	defer srv.Close()
	_ = entra.Middleware(newValidator(t, srv.Config())) // built, but mounted nowhere
	mux := http.NewServeMux()
	mux.Handle("GET /unguarded-orders/{id}", entra.RequireScope("Orders.Read").Middleware(http.HandlerFunc(okHandler)))
	tok := srv.UserToken("Orders.Read")
	for range 3 {
		rec := get(t, mux, "/unguarded-orders/7", http.Header{"Authorization": {"Bearer " + tok}})
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "did not pass through the authentication middleware"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "GET /unguarded-orders/{id}") {
		t.Errorf("the line does not name the route:\n%s", out)
	}
	if strings.Contains(out, tok) {
		t.Fatal("the token reached the log")
	}

	// Anonymous requests under WithOptionalToken passed through the middleware: not
	// a mistake, nothing logged.
	v := newValidator(t, srv.Config())
	mux2 := http.NewServeMux()
	mux2.Handle("GET /optional-orders", entra.Middleware(v, entra.WithOptionalToken())(entra.RequireScope("Orders.Read").Middleware(http.HandlerFunc(okHandler))))
	if rec := get(t, mux2, "/optional-orders", nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: status %d, want 401", rec.Code)
	}
	if strings.Contains(logs.String(), "/optional-orders") {
		t.Errorf("an anonymous request behind the middleware was reported as a mistake:\n%s", logs.String())
	}
}

// AuthenticateToken gives callers outside HTTP middleware (ogen security
// handlers, queue consumers) the middleware's decision, policy included.
func TestAuthenticateTokenAppliesThePolicy(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	a := entra.NewAuthenticator(v)
	noPerms := srv.Mint(entratest.Token{})

	if _, err := v.Validate(ctxT(t), noPerms); err != nil {
		t.Fatalf("Validate of a token without scp or roles: %v (Validate applies no policy)", err)
	}
	ctx, c, err := a.AuthenticateToken(ctxT(t), noPerms)
	if !errors.Is(err, entra.ErrNoScopeOrRole) || c != nil {
		t.Fatalf("AuthenticateToken without scp or roles = %v, %v; want ErrNoScopeOrRole", c, err)
	}
	if _, ok := entra.ClaimsFromContext(ctx); ok {
		t.Fatal("a refused token's context carries claims")
	}
	if resp := entra.ResponseFor(ctx, err); resp.Status != http.StatusUnauthorized {
		t.Fatalf("ResponseFor status %d, want 401", resp.Status)
	}
	if _, _, err := a.AuthenticateToken(ctxT(t), ""); !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatalf("empty token: %v, want ErrTokenMissing", err)
	}
	if _, _, err := a.AuthenticateToken(ctxT(t), "x.y.z"); !errors.Is(err, entra.ErrTokenMalformed) {
		t.Fatalf("malformed token: %v, want ErrTokenMalformed", err)
	}

	ctx, c, err = a.AuthenticateToken(ctxT(t), srv.UserToken("Orders.Read"))
	if err != nil || c == nil {
		t.Fatalf("AuthenticateToken: %v", err)
	}
	if got, ok := entra.ClaimsFromContext(ctx); !ok || got != c {
		t.Fatal("the context does not carry the claims")
	}
	if resp := entra.Authorize(ctx, entra.RequireScope("Orders.Read")); resp != nil {
		t.Fatalf("a guard after AuthenticateToken refused: %d", resp.Status)
	}

	// The same options as the middleware: WithoutScopeOrRoleCheck admits it.
	if _, _, err := entra.NewAuthenticator(v, entra.WithoutScopeOrRoleCheck()).AuthenticateToken(context.Background(), noPerms); err != nil {
		t.Fatalf("with WithoutScopeOrRoleCheck: %v", err)
	}
}

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
