package adaptertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Adapter is what [RunAdapterTests] needs from a framework adapter. G is
// the framework's type for a middleware (gin.HandlerFunc,
// echo.MiddlewareFunc, fiber.Handler, …); each field but Serve and
// ClaimsFix is the adapter's exported function of that name, assigned as
// is (RequireScope: entragin.RequireScope).
type Adapter[G any] struct {
	// The adapter's middleware and guards, each the exported function of
	// the same name.
	Authenticate          func(v *entra.Validator, opts ...entra.Option) G
	Require               func(reqs ...entra.Requirement) G
	RequireScope          func(scopes ...string) G
	RequireAllScopes      func(scopes ...string) G
	RequireRole           func(roles ...string) G
	RequireAllRoles       func(roles ...string) G
	RequireScopeOrAppRole func(scopes, roles []string) G
	RequireGroup          func(ids ...string) G
	RequireApp            func(clientIDs ...string) G
	RequireTenant         func(ids ...string) G
	RequireUser           func() G
	RequireAppOnly        func() G
	RequireMember         func() G
	RequireAgent          func(kinds ...entra.AgentKind) G
	DenyAgents            func() G
	RequireAuthContext    func(ids ...string) G

	// Serve builds an app with the framework and returns it as an
	// http.Handler. Each route is a GET route at Path (a pattern, with
	// parameters written ":id" as Gin, Echo and Fiber write them) whose
	// middleware are Chain, in order, in front of a handler that answers
	// 200: "ok", or, when ReadClaims is set, "claims" or "none" as the
	// adapter's Claims accessor found claims or not. Nothing else is in
	// front of the routes.
	Serve func(t *testing.T, routes []Route[G]) http.Handler

	// ClaimsFix is the fix that the adapter's report of claims read
	// without the middleware names, such as "call Use before registering
	// the routes".
	ClaimsFix string
}

// Route is one route of an app that [Adapter.Serve] builds.
type Route[G any] struct {
	// Path is the route's pattern, such as "/api/x" or "/r1/early/:id".
	Path string
	// Chain are the middleware in front of the handler, in order (none:
	// a route outside the middleware).
	Chain []G
	// ReadClaims makes the handler read the claims with the adapter's
	// accessor and answer "claims" or "none" instead of "ok".
	ReadClaims bool
}

// runs makes routes unique to one run of a test: a mistake is reported
// once per route and process, and go test -count=N runs each test N times
// in one process.
var runs atomic.Int32

// fresh returns "/r<n>" followed by name, a route no earlier run used.
func fresh(name string) string { return fmt.Sprintf("/r%d%s", runs.Add(1), name) }

// RunAdapterTests is the behaviour suite that every framework adapter of
// entraguard runs with one call, so that a behaviour is tested once for
// all of them. Through the routes a builds, it checks:
//
//   - every guard wrapper, met and not met, and stacked: a refusal is the
//     core's net/http answer (entra.Middleware and Requirement.Middleware)
//     byte for byte and runs no handler; the step-up guard's claims
//     challenge included;
//   - the WithoutAgents, WithSkipPaths (the escaped path only) and
//     WithErrorRenderer options;
//   - a guard without Authenticate in front: 500 internal, as the core
//     answers, logged once naming the route;
//   - claims read on a route without Authenticate: logged once per route,
//     naming the route and a.ClaimsFix, never the token;
//   - the wrappers panic at set-up when given nothing to check.
//
// The conformance table ([RunMiddlewareTests]) is run separately.
func RunAdapterTests[G any](t *testing.T, a Adapter[G]) {
	t.Run("guards", func(t *testing.T) { testGuards(t, a) })
	t.Run("stacked guards", func(t *testing.T) { testStacked(t, a) })
	t.Run("claims", func(t *testing.T) { testClaims(t, a) })
	t.Run("without agents", func(t *testing.T) { testWithoutAgents(t, a) })
	t.Run("skip paths match the escaped path", func(t *testing.T) { testSkipPaths(t, a) })
	t.Run("error renderer", func(t *testing.T) { testErrorRenderer(t, a) })
	t.Run("guard without Authenticate", func(t *testing.T) { testGuardWithoutAuthenticate(t, a) })
	t.Run("guard without Authenticate is logged", func(t *testing.T) { testGuardWithoutAuthenticateLogged(t, a) })
	t.Run("claims without Authenticate are reported", func(t *testing.T) { testClaimsReported(t, a) })
	t.Run("set-up panics", func(t *testing.T) { testSetUpPanics(t, a) })
}

// okHandler answers as Serve's handlers do.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

func bodyCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q is not a refusal: %v", rec.Body.Bytes(), err)
	}
	return b.Code
}

// single returns a function returning the requirement that build makes.
func single(build func() entra.Requirement) func() []entra.Requirement {
	return func() []entra.Requirement { return []entra.Requirement{build()} }
}

// guardCase is one wrapper of the guards table, with the core's
// requirement it wraps and tokens that meet it and do not.
type guardCase[G any] struct {
	name    string
	guard   func() G
	ref     func() []entra.Requirement // chained in this order
	allowed []string
	refused []string
	code    entra.Code // of every refusal
}

func testGuards[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := NewReadyValidator(t, srv)
	group, client, otherTenant := entratest.NewGUID(), entratest.NewGUID(), entratest.NewGUID()
	readerAdmin := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Roles: []string{"Admin"}})
	guest := srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"acct": 1}})
	stepped := srv.Mint(entratest.Token{Scopes: []string{"S"}, AuthContexts: []string{"c1"}, ClientCapabilities: []string{"cp1"}})
	capable := srv.Mint(entratest.Token{Scopes: []string{"S"}, ClientCapabilities: []string{"cp1"}})
	plain := srv.Mint(entratest.Token{Scopes: []string{"S"}, AuthContexts: []string{"c2"}})
	appCapable := srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, ClientCapabilities: []string{"cp1"}})
	agent, agentUser, human := srv.AgentAppToken("R"), srv.AgentUserToken("S"), srv.UserToken("S")
	forbidden := entra.CodeForbidden

	cases := []guardCase[G]{
		{"Require", func() G { return a.Require(entra.RequireScope("Orders.Read"), entra.RequireRole("Admin")) },
			func() []entra.Requirement {
				return []entra.Requirement{entra.RequireScope("Orders.Read"), entra.RequireRole("Admin")}
			}, []string{readerAdmin}, []string{srv.UserToken("Orders.Read")}, forbidden},
		{"RequireScope", func() G { return a.RequireScope("Orders.Read", "Orders.Write") },
			func() []entra.Requirement {
				return []entra.Requirement{entra.RequireScope("Orders.Read", "Orders.Write")}
			},
			[]string{srv.UserToken("Orders.Read"), srv.UserToken("Orders.Write")}, []string{srv.UserToken("Orders.ReadWrite"), srv.AppToken("Orders.Read")}, forbidden},
		{"RequireAllScopes", func() G { return a.RequireAllScopes("Orders.Read", "Orders.Write") },
			func() []entra.Requirement {
				return []entra.Requirement{entra.RequireAllScopes("Orders.Read", "Orders.Write")}
			},
			[]string{srv.UserToken("Orders.Read", "Orders.Write")}, []string{srv.UserToken("Orders.Read")}, forbidden},
		{"RequireRole", func() G { return a.RequireRole("Admin", "Auditor") },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireRole("Admin", "Auditor")} },
			[]string{srv.AppToken("Admin"), srv.AppToken("Auditor")}, []string{srv.AppToken("Reader"), srv.UserToken("Admin")}, forbidden},
		{"RequireAllRoles", func() G { return a.RequireAllRoles("Admin", "Auditor") },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireAllRoles("Admin", "Auditor")} },
			[]string{srv.AppToken("Admin", "Auditor")}, []string{srv.AppToken("Admin")}, forbidden},
		{"RequireScopeOrAppRole", func() G { return a.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}) },
			func() []entra.Requirement {
				return []entra.Requirement{entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"})}
			}, []string{srv.UserToken("Orders.Read"), srv.AppToken("Orders.Read.All")}, []string{srv.AppToken("Orders.Read"), srv.UserToken("Orders.Read.All")}, forbidden},
		{"RequireGroup", func() G { return a.RequireGroup(group) },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireGroup(group)} },
			[]string{srv.Mint(entratest.Token{Scopes: []string{"S"}, Groups: []string{group}})}, []string{srv.Mint(entratest.Token{Scopes: []string{"S"}, Groups: []string{entratest.NewGUID()}})}, forbidden},
		{"RequireApp", func() G { return a.RequireApp(client) },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireApp(client)} },
			[]string{srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, ClientID: client})}, []string{srv.AppToken("R")}, forbidden},
		{"RequireTenant", func() G { return a.RequireTenant(srv.TenantID) },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireTenant(srv.TenantID)} },
			[]string{human}, nil, forbidden},
		{"RequireTenant of another tenant", func() G { return a.RequireTenant(otherTenant) },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireTenant(otherTenant)} },
			nil, []string{human}, forbidden},
		{"RequireUser", a.RequireUser, single(entra.RequireUser), []string{human}, []string{srv.AppToken("R")}, forbidden},
		{"RequireAppOnly", a.RequireAppOnly, single(entra.RequireAppOnly), []string{srv.AppToken("R")}, []string{human}, forbidden},
		{"RequireMember", a.RequireMember, single(entra.RequireMember), []string{human}, []string{guest}, forbidden},
		{"RequireAgent", func() G { return a.RequireAgent() }, func() []entra.Requirement { return []entra.Requirement{entra.RequireAgent()} },
			[]string{agent, agentUser}, []string{human}, forbidden},
		{"RequireAgent(AgentUserAccount)", func() G { return a.RequireAgent(entra.AgentUserAccount) },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireAgent(entra.AgentUserAccount)} },
			[]string{agentUser}, []string{agent}, forbidden},
		{"DenyAgents", a.DenyAgents, single(entra.DenyAgents), []string{human}, []string{agent, agentUser}, entra.CodeAgentNotAllowed},
		{"RequireAuthContext", func() G { return a.RequireAuthContext("c1") },
			func() []entra.Requirement { return []entra.Requirement{entra.RequireAuthContext("c1")} },
			[]string{stepped}, []string{capable, plain, appCapable}, entra.CodeAuthContextRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := a.Serve(t, []Route[G]{{Path: "/api/x", Chain: []G{a.Authenticate(v), tc.guard()}}})
			var ref http.Handler = okHandler
			rs := tc.ref()
			for i := len(rs) - 1; i >= 0; i-- {
				ref = rs[i].Middleware(ref)
			}
			ref = entra.Middleware(v)(ref)
			for i, tok := range tc.allowed {
				if rec := Serve(app, "GET", "/api/x", tok); rec.Code != http.StatusOK || rec.Body.String() != "ok" {
					t.Errorf("allowed token %d: %d %q, want 200 ok", i, rec.Code, rec.Body.Bytes())
				}
			}
			for i, tok := range append(tc.refused, "") {
				rec := Serve(app, "GET", "/api/x", tok)
				want := Serve(ref, "GET", "/api/x", tok)
				if want.Code == http.StatusOK || (tok != "" && bodyCode(t, want) != string(tc.code)) {
					t.Fatalf("the reference answered token %d with %d %s, the table wants a refusal with %s", i, want.Code, want.Body.Bytes(), tc.code)
				}
				if rec.Code == http.StatusOK {
					t.Errorf("refused token %d: answered 200 %q", i, rec.Body.Bytes())
					continue
				}
				SameAnswer(t, rec, want)
			}
		})
	}

	t.Run("RequireAuthContext challenges", func(t *testing.T) {
		app := a.Serve(t, []Route[G]{{Path: "/api/approve", Chain: []G{a.Authenticate(v), a.RequireAuthContext("c1")}}})
		const claims = `claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`
		for _, tc := range []struct {
			name, token string
			want        int
			challenge   string
		}{
			{"client that handles claims challenges", capable, 401, `error="insufficient_claims"`},
			{"other client", plain, 403, `error="insufficient_scope"`},
			{"app-only", appCapable, 403, `error="insufficient_scope"`},
		} {
			rec := Serve(app, "GET", "/api/approve", tc.token)
			ch := rec.Header().Get("WWW-Authenticate")
			if rec.Code != tc.want || !strings.Contains(ch, tc.challenge) || strings.Contains(ch, claims) != (tc.want == 401) {
				t.Errorf("%s: %d, WWW-Authenticate %q; want %d with %s, and %s only on a 401", tc.name, rec.Code, ch, tc.want, tc.challenge, claims)
			}
		}
	})
}

func testStacked[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := NewReadyValidator(t, srv)
	app := a.Serve(t, []Route[G]{{Path: "/api/both", Chain: []G{a.Authenticate(v), a.RequireScope("Orders.Read"), a.RequireRole("Admin")}}})
	ref := entra.Middleware(v)(entra.RequireScope("Orders.Read").Middleware(entra.RequireRole("Admin").Middleware(okHandler)))
	readerAdmin := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Roles: []string{"Admin"}})
	if rec := Serve(app, "GET", "/api/both", readerAdmin); rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Errorf("both guards met: %d %q, want 200 ok", rec.Code, rec.Body.Bytes())
	}
	for name, tok := range map[string]string{
		"no token": "", "bad token": "not-a-jwt",
		"first guard not met": srv.AppToken("Admin"), "second guard not met": srv.UserToken("Orders.Read"),
	} {
		t.Run(name, func(t *testing.T) {
			rec := Serve(app, "GET", "/api/both", tok)
			if rec.Code == http.StatusOK {
				t.Fatalf("answered 200 %q", rec.Body.Bytes())
			}
			SameAnswer(t, rec, Serve(ref, "GET", "/api/both", tok))
		})
	}
}

func testClaims[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := NewReadyValidator(t, srv)
	app := a.Serve(t, []Route[G]{
		{Path: "/api/me", Chain: []G{a.Authenticate(v)}, ReadClaims: true},
		{Path: "/anon", Chain: []G{a.Authenticate(v, entra.WithOptionalToken())}, ReadClaims: true},
	})
	if rec := Serve(app, "GET", "/api/me", srv.UserToken("Orders.Read")); rec.Code != http.StatusOK || rec.Body.String() != "claims" {
		t.Errorf("authenticated: %d %q, want 200 claims", rec.Code, rec.Body.Bytes())
	}
	if rec := Serve(app, "GET", "/anon", ""); rec.Code != http.StatusOK || rec.Body.String() != "none" {
		t.Errorf("anonymous under WithOptionalToken: %d %q, want 200 none", rec.Code, rec.Body.Bytes())
	}
}

func testWithoutAgents[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := NewReadyValidator(t, srv)
	app := a.Serve(t, []Route[G]{{Path: "/api/me", Chain: []G{a.Authenticate(v, entra.WithoutAgents())}}})
	ref := entra.Middleware(v, entra.WithoutAgents())(okHandler)
	for _, tok := range []string{srv.AgentAppToken("R"), srv.AgentUserToken("S"), srv.AgentOnBehalfOfToken("S")} {
		rec := Serve(app, "GET", "/api/me", tok)
		if rec.Code != http.StatusForbidden || bodyCode(t, rec) != string(entra.CodeAgentNotAllowed) {
			t.Errorf("agent: %d %q, want 403 agent_not_allowed", rec.Code, rec.Body.Bytes())
		}
		SameAnswer(t, rec, Serve(ref, "GET", "/api/me", tok))
	}
	if rec := Serve(app, "GET", "/api/me", srv.UserToken("S")); rec.Code != http.StatusOK {
		t.Errorf("a user's token: %d %q, want 200", rec.Code, rec.Body.Bytes())
	}
}

// testSkipPaths: WithSkipPaths skips only the escaped path the request
// carries: an encoded slash does not turn "/health%2Flive" into the
// skipped "/health/live", whichever route the framework sends it to.
func testSkipPaths[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := NewReadyValidator(t, srv)
	auth := a.Authenticate(v, entra.WithSkipPaths("/health/live"))
	app := a.Serve(t, []Route[G]{
		{Path: "/health/live", Chain: []G{auth}},
		{Path: "/:id", Chain: []G{auth}},
		{Path: "/:id/:sub", Chain: []G{auth}},
	})
	if rec := Serve(app, "GET", "/health/live", ""); rec.Code != http.StatusOK {
		t.Errorf("/health/live: %d %q, want 200", rec.Code, rec.Body.Bytes())
	}
	for _, p := range []string{"/health%2Flive", "/health%2flive", "/health/liv%65", "/%68ealth/live"} {
		rec := Serve(app, "GET", p, "")
		if rec.Code != http.StatusUnauthorized || bodyCode(t, rec) != string(entra.CodeTokenMissing) {
			t.Errorf("%s was not authenticated: %d %q", p, rec.Code, rec.Body.Bytes())
		}
	}
}

// testErrorRenderer: a reshaped refusal is written as the core shaped it,
// headers included.
func testErrorRenderer[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := NewReadyValidator(t, srv)
	render := entra.WithErrorRenderer(func(err *entra.Error, r *entra.Response) {
		r.Header.Set("Content-Type", "application/problem+json")
		r.Header.Add("Cache-Control", "private")
		r.Body = []byte(`{"title":"` + string(err.Code) + `"}`)
	})
	app := a.Serve(t, []Route[G]{{Path: "/api/admin", Chain: []G{a.Authenticate(v, render), a.RequireRole("Admin")}}})
	ref := entra.Middleware(v, render)(entra.RequireRole("Admin").Middleware(okHandler))
	for _, tok := range []string{"not-a-jwt", "", srv.AppToken("Reader")} {
		rec := Serve(app, "GET", "/api/admin", tok)
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type %q, want the renderer's", ct)
		}
		SameAnswer(t, rec, Serve(ref, "GET", "/api/admin", tok))
	}
}

// testGuardWithoutAuthenticate: nothing read the token, so the answer must
// not say that none was sent: 500, as the core answers.
func testGuardWithoutAuthenticate[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	app := a.Serve(t, []Route[G]{{Path: "/x", Chain: []G{a.RequireRole("Admin")}}})
	ref := entra.RequireRole("Admin").Middleware(okHandler)
	tok := srv.AppToken("Admin") // a valid token, but nothing validated it
	rec := Serve(app, "GET", "/x", tok)
	if rec.Code != http.StatusInternalServerError || bodyCode(t, rec) != string(entra.CodeInternal) {
		t.Fatalf("status %d, body %s; want 500 internal", rec.Code, rec.Body.Bytes())
	}
	SameAnswer(t, rec, Serve(ref, "GET", "/x", tok))
}

// testGuardWithoutAuthenticateLogged: the mistake is logged once, naming
// the route's pattern, to the logger of the Validator of the middleware
// built last.
func testGuardWithoutAuthenticateLogged[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	var logs LogBuffer
	_ = a.Authenticate(NewReadyValidator(t, srv, LogTo(&logs))) // built, but in front of no route
	route := fresh("/unguarded") + "/:id"
	app := a.Serve(t, []Route[G]{{Path: route, Chain: []G{a.RequireRole("Admin")}}})
	for i := range 2 {
		if rec := Serve(app, "GET", strings.Replace(route, ":id", fmt.Sprint(i), 1), srv.AppToken("Admin")); rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "did not pass through the authentication middleware"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "route="+route) {
		t.Errorf("the line does not name the route %s:\n%s", route, out)
	}
}

// testClaimsReported: a route without the middleware is open; reading its
// claims is reported once per route, through the validator's logger,
// naming the route and the fix; a route behind the middleware is not
// reported.
func testClaimsReported[G any](t *testing.T, a Adapter[G]) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	var logs LogBuffer
	v := NewReadyValidator(t, srv, LogTo(&logs))
	base := fresh("/early")
	route := base + "/:id"
	app := a.Serve(t, []Route[G]{
		{Path: route, ReadClaims: true},
		{Path: base + "-late", Chain: []G{a.Authenticate(v)}, ReadClaims: true},
	})
	tok := srv.UserToken("Orders.Read")
	for p, want := range map[string]string{base + "/1": "none", base + "/2": "none", base + "-late": "claims"} {
		if rec := Serve(app, "GET", p, tok); rec.Code != http.StatusOK || rec.Body.String() != want {
			t.Fatalf("%s: %d %q, want 200 %s", p, rec.Code, rec.Body.Bytes(), want)
		}
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once (for %s):\n%s", n, route, out)
	}
	if !strings.Contains(out, "route="+route) || !strings.Contains(out, a.ClaimsFix) {
		t.Errorf("the line does not name the route %s and the fix %q:\n%s", route, a.ClaimsFix, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token reached the log")
	}
}

func testSetUpPanics[G any](t *testing.T, a Adapter[G]) {
	for name, build := range map[string]func(){
		"Authenticate(nil)":                  func() { a.Authenticate(nil) },
		"Require()":                          func() { a.Require() },
		"RequireScope()":                     func() { a.RequireScope() },
		"RequireAllScopes()":                 func() { a.RequireAllScopes() },
		"RequireRole()":                      func() { a.RequireRole() },
		"RequireRole(\"\")":                  func() { a.RequireRole("") },
		"RequireAllRoles()":                  func() { a.RequireAllRoles() },
		"RequireScopeOrAppRole(nil, roles)":  func() { a.RequireScopeOrAppRole(nil, []string{"Orders.Read.All"}) },
		"RequireScopeOrAppRole(scopes, nil)": func() { a.RequireScopeOrAppRole([]string{"Orders.Read"}, nil) },
		"RequireGroup()":                     func() { a.RequireGroup() },
		"RequireGroup(a name)":               func() { a.RequireGroup("Sales Team") },
		"RequireApp()":                       func() { a.RequireApp() },
		"RequireTenant()":                    func() { a.RequireTenant() },
		"RequireAuthContext()":               func() { a.RequireAuthContext() },
		"RequireAuthContext(a display name)": func() { a.RequireAuthContext("Approve payments") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic at set-up")
				}
				msg := fmt.Sprint(r)
				if !strings.HasPrefix(msg, "entra") {
					t.Errorf("panic %q, want a message prefixed by the package", msg)
				}
			}()
			build()
		})
	}
}
