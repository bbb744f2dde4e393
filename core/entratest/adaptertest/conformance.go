package adaptertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// NewAPI builds the API under test for [RunMiddlewareTests]: a handler that
// serves the entraguard example contract with the given Validator and
// middleware options:
//
//	GET  /healthz     no guard                                   200 {"status":"ok"}
//	GET  /api/me      authenticated                              200 the caller (Claims JSON)
//	GET  /api/orders  RequireScopeOrAppRole(["Orders.Read"], ["Orders.Read.All"])  200 {"orders":[...]}
//	POST /api/orders  RequireScope("Orders.Write")               201
//	GET  /api/admin   RequireRole("Admin")                       200 {"admin":true}
//
// Everything under /api/ is behind the authentication middleware.
type NewAPI func(t *testing.T, v *entra.Validator, opts ...entra.Option) http.Handler

// ReferenceAPI is the contract served with the core's net/http middleware.
// [RunMiddlewareTests] compares every answer of the API under test with its
// answer, byte for byte (status, security headers and body).
func ReferenceAPI(t *testing.T, v *entra.Validator, opts ...entra.Option) http.Handler {
	auth := entra.Middleware(v, opts...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		c, _ := entra.ClaimsFromContext(r.Context())
		writeJSON(w, http.StatusOK, c)
	})
	api.Handle("GET /api/orders", entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"orders": []any{}})
	})))
	api.Handle("POST /api/orders", entra.RequireScope("Orders.Write").Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, map[string]any{"created": true})
	})))
	api.Handle("GET /api/admin", entra.RequireRole("Admin").Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"admin": true})
	})))
	mux.Handle("/api/", auth(api))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// conformanceCase is one request of the shared table.
type conformanceCase struct {
	name       string
	method     string
	path       string
	auth       func(s *entratest.Server) []string // Authorization header values
	status     int
	errCode    string // body "code", "" for successes
	challenge  string // substring of WWW-Authenticate
	noErrParam bool   // WWW-Authenticate must not carry error=
}

func bearer(tok string) []string { return []string{"Bearer " + tok} }

var conformanceCases = []conformanceCase{
	{name: "health needs no token", method: "GET", path: "/healthz", status: 200},
	{name: "no token", method: "GET", path: "/api/me", status: 401, errCode: "token_missing", challenge: `Bearer realm=""`, noErrParam: true},
	{name: "Basic scheme counts as no token", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return []string{"Basic dXNlcjpwYXNz"} }, status: 401, errCode: "token_missing", noErrParam: true},
	{name: "empty Bearer", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return []string{"Bearer "} }, status: 401, errCode: "token_missing", noErrParam: true},
	{name: "lower-case scheme", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return []string{"bearer " + s.UserToken("Orders.Read")} }, status: 200},
	{name: "spaces around the token", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return []string{"  Bearer   " + s.UserToken("Orders.Read") + "  "} }, status: 200},
	{name: "two Authorization headers", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		t := s.UserToken("Orders.Read")
		return []string{"Bearer " + t, "Bearer " + t}
	}, status: 400, errCode: "invalid_request", challenge: `error="invalid_request"`},
	{name: "garbage token", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return bearer("not-a-jwt") }, status: 401, errCode: "token_malformed", challenge: `error="invalid_token"`},
	{name: "expired token", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: time.Now().Add(-3 * time.Hour), NotBefore: time.Now().Add(-3 * time.Hour), ExpiresAt: time.Now().Add(-2 * time.Hour)}))
	}, status: 401, errCode: "token_expired", challenge: `error="invalid_token", error_description="token expired at `},
	{name: "tampered signature", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		t := s.UserToken("Orders.Read")
		return bearer(t[:len(t)-6] + "AAAAAA")
	}, status: 401, errCode: "signature_invalid", challenge: `error="invalid_token"`},
	{name: "alg none", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Header: map[string]any{"alg": "none"}}))
	}, status: 401, errCode: "algorithm_not_allowed", challenge: `error="invalid_token"`},
	{name: "wrong audience", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Audience: "api://another-api"}))
	}, status: 401, errCode: "audience_invalid", challenge: `error="invalid_token"`},
	{name: "Microsoft Graph token", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"User.Read"}, Header: map[string]any{"nonce": "x"}}))
	}, status: 401, errCode: "first_party_token", challenge: `error="invalid_token"`},
	{name: "token without scp or roles", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return bearer(s.Mint(entratest.Token{})) }, status: 401, errCode: "no_scope_or_role", challenge: `error="invalid_token"`},
	{name: "token in the query string is ignored", method: "GET", path: "/api/me?access_token=TOKEN", status: 401, errCode: "token_missing", noErrParam: true},
	{name: "me as a user", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("Orders.Read")) }, status: 200},
	{name: "me as an app", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string { return bearer(s.AppToken("Orders.Read.All")) }, status: 200},
	{name: "me with a v1 token", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Version: "1.0", Scopes: []string{"Orders.Read"}}))
	}, status: 200},
	{name: "orders: user with the scope", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("Orders.Read")) }, status: 200},
	{name: "orders: user with a longer scope", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("Orders.ReadWrite")) }, status: 403, errCode: "forbidden", challenge: `error="insufficient_scope"`},
	{name: "orders: user with the scope in other case", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("orders.read")) }, status: 403, errCode: "forbidden", challenge: `scope="Orders.Read"`},
	{name: "orders: user with only the app role", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"User.Read"}, Roles: []string{"Orders.Read.All"}}))
	}, status: 403, errCode: "forbidden"},
	{name: "orders: app with the role", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.AppToken("Orders.Read.All")) }, status: 200},
	{name: "orders: app with a role named like the scope", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.AppToken("Orders.Read")) }, status: 403, errCode: "forbidden"},
	{name: "create order: user with the scope", method: "POST", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("Orders.Write")) }, status: 201},
	{name: "create order: user with read only", method: "POST", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("Orders.Read")) }, status: 403, errCode: "forbidden", challenge: `scope="Orders.Write"`},
	{name: "create order: app with a role of that name", method: "POST", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.AppToken("Orders.Write")) }, status: 403, errCode: "forbidden"},
	{name: "create order: no token", method: "POST", path: "/api/orders", status: 401, errCode: "token_missing", noErrParam: true},
	{name: "admin: app with the role", method: "GET", path: "/api/admin", auth: func(s *entratest.Server) []string { return bearer(s.AppToken("Admin")) }, status: 200},
	{name: "admin: user assigned the role", method: "GET", path: "/api/admin", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Roles: []string{"Admin"}}))
	}, status: 200},
	{name: "admin: a scope named Admin is not the role", method: "GET", path: "/api/admin", auth: func(s *entratest.Server) []string { return bearer(s.UserToken("Admin")) }, status: 403, errCode: "forbidden"},
	{name: "admin: role in other case", method: "GET", path: "/api/admin", auth: func(s *entratest.Server) []string { return bearer(s.AppToken("admin")) }, status: 403, errCode: "forbidden"},
	// Token shapes of 2026: agents, unscoped app-only tokens, ID tokens,
	// tokens without oid, claims that can be read two ways.
	{name: "orders: agent with the app role", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.AgentAppToken("Orders.Read.All")) }, status: 200},
	{name: "orders: agent for a user with the scope", method: "GET", path: "/api/orders", auth: func(s *entratest.Server) []string { return bearer(s.AgentOnBehalfOfToken("Orders.Read")) }, status: 200},
	{name: "unscoped agent token (scp \"/\") without roles", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Agent: entra.AgentAutonomous, Claims: map[string]any{"scp": "/"}}))
	}, status: 401, errCode: "no_scope_or_role", challenge: `error="invalid_token"`},
	{name: "ID token with roles and a nonce", method: "GET", path: "/api/admin", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Roles: []string{"Admin"}, Claims: map[string]any{"nonce": "n-0S6_WzA2Mj"}}))
	}, status: 401, errCode: "id_token_not_accepted", challenge: `error="invalid_token"`},
	{name: "token without oid", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{App: true, Roles: []string{"Orders.Read.All"}, Claims: map[string]any{"oid": nil}}))
	}, status: 401, errCode: "oid_missing", challenge: `error="invalid_token"`},
	{name: "tid beside TID", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"TID": "00000000-0000-0000-0000-000000000001"}}))
	}, status: 401, errCode: "token_malformed", challenge: `error="invalid_token"`},
	// Tokens bound to a certificate (cnf x5t#S256, Entra's mTLS
	// proof-of-possession tokens): never accepted as bearer tokens.
	{name: "token bound to a certificate, as Bearer", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"cnf": map[string]any{"x5t#S256": conformanceThumbprint}}}))
	}, status: 401, errCode: "token_bound", challenge: `error="invalid_token", error_description="the token is bound to a client certificate`},
	{name: "token bound to a certificate, as MTLS_POP to an API that does not verify bindings", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return []string{"MTLS_POP " + s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"cnf": map[string]any{"x5t#S256": conformanceThumbprint}}})}
	}, status: 401, errCode: "token_bound", challenge: `error="invalid_token"`},
	{name: "token with a cnf that cannot be read", method: "GET", path: "/api/me", auth: func(s *entratest.Server) []string {
		return bearer(s.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"cnf": map[string]any{"x5t#S256": "not a thumbprint"}}}))
	}, status: 401, errCode: "token_malformed", challenge: `error="invalid_token"`},
}

// conformanceThumbprint is an x5t#S256 (base64url SHA-256) of no
// certificate in particular.
const conformanceThumbprint = "bwcK0esc1RyjFIbpA4ZAbbHPqpYZYQr2V2drMjmw6Vs"

// securityHeaders are compared between the API under test and the reference.
var securityHeaders = []string{"Www-Authenticate", "Retry-After", "Cache-Control"}

// RunMiddlewareTests runs the shared conformance table: every request of the
// example contract, answered by newAPI and by [ReferenceAPI] (the core's
// net/http middleware) against the same fake authority, must get the same
// status, the same WWW-Authenticate, Retry-After and Cache-Control headers,
// and, for refusals, the same JSON body, byte for byte. It also checks the
// RFC 6750 shape of each answer and that no answer echoes the token.
//
// The Gin, Echo and Fiber adapters and the examples run it, so a behaviour
// that differs between them fails a test.
func RunMiddlewareTests(t *testing.T, newAPI NewAPI) {
	t.Helper()
	srv := entratest.NewServer()
	defer srv.Close()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	runTable(t, srv, newAPI(t, v), ReferenceAPI(t, v))

	t.Run("keys unavailable", func(t *testing.T) {
		cold := entratest.NewServer()
		defer cold.Close()
		cold.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusServiceUnavailable))
		cv, err := entra.NewValidator(cold.Config())
		if err != nil {
			t.Fatal(err)
		}
		defer cv.Close()
		tc := conformanceCase{name: "keys unavailable", method: "GET", path: "/api/me", status: 503, errCode: "keys_unavailable"}
		auth := bearer(cold.UserToken("Orders.Read"))
		g := serve(newAPI(t, cv), tc.method, tc.path, auth)
		w := serve(ReferenceAPI(t, cv), tc.method, tc.path, auth)
		check(t, tc, g, w, auth)
		if g.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	})

	t.Run("options: realm, optional, skip paths", func(t *testing.T) {
		opts := []entra.Option{entra.WithRealm("orders"), entra.WithOptionalToken()}
		g := serve(newAPI(t, v, opts...), "GET", "/api/me", nil)
		w := serve(ReferenceAPI(t, v, opts...), "GET", "/api/me", nil)
		if g.Code != w.Code {
			t.Errorf("Optional: anonymous /api/me status %d, reference %d", g.Code, w.Code)
		}
		g = serve(newAPI(t, v, opts...), "GET", "/api/admin", nil)
		w = serve(ReferenceAPI(t, v, opts...), "GET", "/api/admin", nil)
		check(t, conformanceCase{name: "anonymous guard", status: 401, errCode: "token_missing", challenge: `Bearer realm="orders"`, noErrParam: true}, g, w, nil)
		bad := bearer("not-a-jwt")
		g = serve(newAPI(t, v, opts...), "GET", "/api/me", bad)
		w = serve(ReferenceAPI(t, v, opts...), "GET", "/api/me", bad)
		check(t, conformanceCase{name: "optional with a bad token", status: 401, errCode: "token_malformed", challenge: `realm="orders", authorization_uri=`}, g, w, bad)
	})

	t.Run("options: refuse agents", func(t *testing.T) {
		opts := []entra.Option{entra.WithoutAgents()}
		for _, kind := range []entra.AgentKind{entra.AgentAutonomous, entra.AgentUserAccount, entra.AgentOnBehalfOfUser} {
			auth := bearer(srv.Mint(entratest.Token{Agent: kind, Scopes: []string{"Orders.Read"}, Roles: []string{"Orders.Read.All"}}))
			g := serve(newAPI(t, v, opts...), "GET", "/api/orders", auth)
			w := serve(ReferenceAPI(t, v, opts...), "GET", "/api/orders", auth)
			check(t, conformanceCase{name: "agent refused: " + string(kind), status: 403, errCode: "agent_not_allowed", challenge: `error="insufficient_scope"`}, g, w, auth)
		}
		auth := bearer(srv.UserToken("Orders.Read"))
		if g := serve(newAPI(t, v, opts...), "GET", "/api/orders", auth); g.Code != http.StatusOK {
			t.Errorf("WithoutAgents: a user's token answered %d, want 200", g.Code)
		}
	})
}

// runTable sends every request of the table to got and to want (the
// reference), with tokens of srv, and checks both answers.
func runTable(t *testing.T, srv *entratest.Server, got, want http.Handler) {
	t.Helper()
	for _, tc := range conformanceCases {
		t.Run(tc.name, func(t *testing.T) {
			var auth []string
			if tc.auth != nil {
				auth = tc.auth(srv)
			}
			path := strings.Replace(tc.path, "TOKEN", srv.UserToken("Orders.Read"), 1)
			g := serve(got, tc.method, path, auth)
			w := serve(want, tc.method, path, auth)
			check(t, tc, g, w, auth)
		})
	}
}

func serve(h http.Handler, method, path string, auth []string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func check(t *testing.T, tc conformanceCase, got, want *httptest.ResponseRecorder, auth []string) {
	t.Helper()
	if want.Code != tc.status {
		t.Fatalf("reference answered %d, the table wants %d (body %s)", want.Code, tc.status, want.Body.Bytes())
	}
	if got.Code != tc.status {
		t.Fatalf("status %d, want %d (body %s)", got.Code, tc.status, got.Body.Bytes())
	}
	for _, h := range securityHeaders {
		if g, w := got.Header().Values(h), want.Header().Values(h); !slices.Equal(g, w) {
			t.Errorf("header %s = %q, reference %q", h, g, w)
		}
	}
	if ct := got.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	for _, a := range auth {
		tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(a), "Bearer"))
		if len(tok) > 20 && (bytes.Contains(got.Body.Bytes(), []byte(tok[len(tok)-20:])) || strings.Contains(got.Header().Get("Www-Authenticate"), tok[len(tok)-20:])) {
			t.Errorf("the answer echoes the token")
		}
	}
	if tc.status < 400 {
		if got.Code == http.StatusOK && !json.Valid(got.Body.Bytes()) {
			t.Errorf("success body is not JSON: %s", got.Body.Bytes())
		}
		return
	}
	if !bytes.Equal(bytes.TrimSpace(got.Body.Bytes()), bytes.TrimSpace(want.Body.Bytes())) {
		t.Errorf("body %s, reference %s", got.Body.Bytes(), want.Body.Bytes())
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Code        string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(got.Body, 1<<16)).Decode(&body); err != nil {
		t.Fatalf("refusal body is not JSON: %v", err)
	}
	if body.Code != tc.errCode || body.Error == "" || body.Description == "" {
		t.Errorf("body = %+v, want code %q with error and description", body, tc.errCode)
	}
	ch := got.Header().Get("Www-Authenticate")
	switch {
	case tc.status == 401 || tc.status == 403 || tc.status == 400:
		if !strings.HasPrefix(ch, "Bearer ") {
			t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
		}
	case ch != "":
		t.Errorf("WWW-Authenticate on a %d: %q", tc.status, ch)
	}
	if tc.challenge != "" && !strings.Contains(ch, tc.challenge) {
		t.Errorf("WWW-Authenticate = %q, want it to contain %q", ch, tc.challenge)
	}
	if tc.noErrParam && strings.Contains(ch, "error=") {
		t.Errorf("WWW-Authenticate = %q carries an error code for a request without a token (RFC 6750 §3.1)", ch)
	}
}
