package entra_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// readyValidator returns a validator of srv's API with its keys loaded.
func readyValidator(t *testing.T, srv *entratest.Server, edit func(*entra.Config)) *entra.Validator {
	t.Helper()
	cfg := srv.Config()
	if edit != nil {
		edit(&cfg)
	}
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustValidate(t *testing.T, v *entra.Validator, tok string) *entra.Claims {
	t.Helper()
	c, err := v.Validate(ctxT(t), tok)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return c
}

func wantCode(t *testing.T, err error, want *entra.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v (code %q), want code %q", err, entra.CodeOf(err), want.Code)
	}
}

// The three agent shapes of Microsoft's "Token claims reference for agent
// IDs" are read as such, and classic tokens are not agents.
func TestAgentTokenShapes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	for _, tc := range []struct {
		name     string
		tok      string
		kind     entra.AgentKind
		identity entra.IdentityType
		oid      string
	}{
		{"autonomous v2", srv.AgentAppToken("Orders.Read.All"), entra.AgentAutonomous, entra.IdentityApp, srv.AgentObjectID()},
		{"autonomous v1", srv.Mint(entratest.Token{Version: "1.0", Agent: entra.AgentAutonomous, Roles: []string{"Orders.Read.All"}}), entra.AgentAutonomous, entra.IdentityApp, srv.AgentObjectID()},
		{"agent user", srv.AgentUserToken("Orders.Read"), entra.AgentUserAccount, entra.IdentityUser, srv.AgentUserObjectID()},
		{"on behalf of a user", srv.AgentOnBehalfOfToken("Orders.Read"), entra.AgentOnBehalfOfUser, entra.IdentityUser, srv.UserObjectID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustValidate(t, v, tc.tok)
			if !c.IsAgent() || c.AgentKind() != tc.kind {
				t.Errorf("IsAgent %v, AgentKind %q; want true, %q", c.IsAgent(), c.AgentKind(), tc.kind)
			}
			if c.IdentityType() != tc.identity || c.ObjectID() != tc.oid {
				t.Errorf("IdentityType %q, oid %q; want %q, %q", c.IdentityType(), c.ObjectID(), tc.identity, tc.oid)
			}
			if c.AgentBlueprintAppID() != srv.AgentBlueprintID() || c.AppID() != srv.AgentID() {
				t.Errorf("blueprint %q, app %q; want %q, %q", c.AgentBlueprintAppID(), c.AppID(), srv.AgentBlueprintID(), srv.AgentID())
			}
			if !slices.Contains(c.ActorFacets(), entra.FacetAgentIdentity) {
				t.Errorf("ActorFacets %v lack AgentIdentity", c.ActorFacets())
			}
			if got := c.IsAgentUser(); got != (tc.kind == entra.AgentUserAccount) {
				t.Errorf("IsAgentUser %v", got)
			}
		})
	}
	for name, tok := range map[string]string{"user": srv.UserToken("Orders.Read"), "app": srv.AppToken("Orders.Read.All")} {
		c := mustValidate(t, v, tok)
		if c.IsAgent() || c.AgentKind() != entra.AgentNone || c.AgentBlueprintAppID() != "" || c.ActorFacets() != nil {
			t.Errorf("%s token read as an agent's: %q %q", name, c.AgentKind(), c.AgentBlueprintAppID())
		}
	}
}

// The sample token of Microsoft's agent claims reference, claim for claim
// (issuer, audience and tenant made the fake authority's).
func TestAgentDocsSampleToken(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	iss := srv.Issuer("1.0", "")
	payload := `{"aud":"` + srv.ClientID + `","iss":"` + iss + `","iat":1753392285,"nbf":1753392285,"exp":4102444800,` +
		`"aio":"Y2JgYGhn1nzmErKqi0vc4Fr6H22/C5/4FP+xZbZYpik8nRkp+gEA","appid":"aaaaaaaa-1111-2222-3333-444444444444","appidacr":"2",` +
		`"idp":"` + iss + `","idtyp":"app","oid":"bbbbbbbb-1111-2222-3333-444444444444","rh":"1.AAAAAQAAAAAA8Q_OAAAAAAAAADQNUfLKjbhKoLyq7E06PjYAAAAAAA.",` +
		`"roles":["Orders.Read.All"],"sub":"cccccccc-1111-2222-3333-444444444444","tid":"` + srv.TenantID + `","uti":"m5RaaRnoFUyp2TbSCAAAAA","ver":"1.0",` +
		`"xms_act_fct":"3 9 11","xms_ftd":"Z5DrW4HFOkR_Lz0M5qETa260d2-fO6seMZJ_tOwRNuc","xms_idrel":"7 10","xms_sub_fct":"9 3 11","xms_tnt_fct":"3 9",` +
		`"xms_par_app_azp":"30cf4c22-9985-4ef7-8756-91cc888176bd"}`
	c := mustValidate(t, v, srv.SignBytes("", []byte(`{"typ":"JWT","alg":"RS256","kid":"`+srv.CurrentKeyID()+`"}`), []byte(payload)))
	if c.AgentKind() != entra.AgentAutonomous || !c.IsApp() || c.AgentBlueprintAppID() != "30cf4c22-9985-4ef7-8756-91cc888176bd" {
		t.Errorf("kind %q, app %v, blueprint %q", c.AgentKind(), c.IsApp(), c.AgentBlueprintAppID())
	}
	if !slices.Equal(c.ActorFacets(), []entra.Facet{3, 9, 11}) || !slices.Equal(c.SubjectFacets(), []entra.Facet{9, 3, 11}) ||
		!slices.Equal(c.TenantFacets(), []entra.Facet{3, 9}) || !slices.Equal(c.IdentityRelations(), []entra.IdentityRelation{7, 10}) {
		t.Errorf("facets %v %v %v %v", c.ActorFacets(), c.SubjectFacets(), c.TenantFacets(), c.IdentityRelations())
	}
	// Without idtyp, and with a sub that is not its oid (as in the
	// sample), the subject facet still makes it an app's token.
	noIdtyp := strings.Replace(payload, `"idtyp":"app",`, "", 1)
	c = mustValidate(t, v, srv.SignBytes("", []byte(`{"alg":"RS256","kid":"`+srv.CurrentKeyID()+`"}`), []byte(noIdtyp)))
	if !c.IsApp() || c.AgentKind() != entra.AgentAutonomous {
		t.Errorf("without idtyp: app %v, kind %q", c.IsApp(), c.AgentKind())
	}
}

// Every new accessor answers on a nil *Claims instead of panicking.
func TestAgentAccessorsOnNilClaims(t *testing.T) {
	var c *entra.Claims
	if c.IsAgent() || c.AgentKind() != entra.AgentNone || c.IsAgentUser() || c.AgentBlueprintAppID() != "" ||
		c.ActorFacets() != nil || c.SubjectFacets() != nil || c.TenantFacets() != nil || c.IdentityRelations() != nil || c.UserFlow() != "" {
		t.Error("a nil *Claims reads as an agent or has values")
	}
	for _, r := range []entra.Requirement{entra.RequireAgent(), entra.DenyAgents()} {
		wantCode(t, r.Check(nil), entra.ErrTokenMissing)
	}
}

// A facet claim that is not a string of space-separated integers makes
// the token malformed: it could not be told to be an agent's or not. Any
// list of integers, known values or not, in any order, is read.
func TestAgentFacetsMalformed(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	many := strings.Repeat("1 ", 65)
	for _, val := range []any{"11 x", "-11", "+11", "1.5", "0x11", "11,13", "11\t13", "11\n13", "11\u00a013", "\uff11\uff11", "1234567890", many, 11, []string{"11"}, map[string]any{"11": true}, true} {
		for _, name := range []string{"xms_act_fct", "xms_sub_fct", "xms_tnt_fct", "xms_idrel"} {
			_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{name: val}}))
			wantCode(t, err, entra.ErrTokenMalformed)
		}
	}
	for val, want := range map[string][]entra.Facet{
		"": nil, " ": nil, "11  13 ": {11, 13}, " 9 3": {9, 3}, "011": {11}, "11 11": {11, 11},
		"123456789": {123456789}, strings.TrimSpace(strings.Repeat("1 ", 64)): slices.Repeat([]entra.Facet{1}, 64),
	} {
		c := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"xms_act_fct": val}}))
		if !slices.Equal(c.ActorFacets(), want) {
			t.Errorf("xms_act_fct %q read as %v, want %v", val, c.ActorFacets(), want)
		}
	}
}

// App-only agent tokens may carry scp "" or "/": no delegated scope. Such a
// token does not pass the default policy without roles, stays an app's
// token, and never meets a scope requirement.
func TestUnscopedAgentToken(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	auth := entra.NewAuthenticator(v)
	for _, scp := range []string{"", "/", " / "} {
		for _, idtyp := range []any{"app", nil} {
			tok := srv.Mint(entratest.Token{Agent: entra.AgentAutonomous, Claims: map[string]any{"scp": scp, "idtyp": idtyp}})
			c := mustValidate(t, v, tok)
			if !c.IsApp() || c.IsUser() || len(c.Scopes()) != 0 || c.HasScope("/") {
				t.Errorf("scp %q idtyp %v: app %v, scopes %q", scp, idtyp, c.IsApp(), c.Scopes())
			}
			_, resp := auth.Authenticate(context.Background(), bearerRequest(tok))
			if resp == nil || resp.Err.Code != entra.CodeNoScopeOrRole {
				t.Errorf("scp %q idtyp %v: default policy answered %v, want %s", scp, idtyp, resp, entra.CodeNoScopeOrRole)
			}
			for _, r := range []entra.Requirement{entra.RequireScope("Orders.Read"), entra.RequireUser(), entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"})} {
				wantCode(t, r.Check(c), entra.ErrForbidden)
			}
		}
	}
	// A classic app token (no agent claims) with scp "/" is an app's too.
	c := mustValidate(t, v, srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, Claims: map[string]any{"scp": "/", "idtyp": nil}}))
	if !c.IsApp() {
		t.Error(`app token with scp "/" read as a user's`)
	}
	if err := entra.RequireScopeOrAppRole([]string{"x"}, []string{"R"}).Check(c); err != nil {
		t.Errorf("role of an unscoped app token: %v", err)
	}
	// With roles, the unscoped agent token passes the default policy.
	if _, resp := auth.Authenticate(context.Background(), bearerRequest(srv.Mint(entratest.Token{Agent: entra.AgentAutonomous, Roles: []string{"R"}, Claims: map[string]any{"scp": "/"}}))); resp != nil {
		t.Errorf("unscoped agent token with roles refused: %v", resp.Err)
	}
}

func bearerRequest(tok string) entra.Request {
	r, _ := http.NewRequest("GET", "/api/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return entra.HTTPRequest{R: r}
}

func TestRequireAgentAndDenyAgents(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	auto := mustValidate(t, v, srv.AgentAppToken("R"))
	user := mustValidate(t, v, srv.AgentUserToken("S"))
	obo := mustValidate(t, v, srv.AgentOnBehalfOfToken("S"))
	human := mustValidate(t, v, srv.UserToken("S"))
	app := mustValidate(t, v, srv.AppToken("R"))
	for _, agent := range []*entra.Claims{auto, user, obo} {
		if err := entra.RequireAgent().Check(agent); err != nil {
			t.Errorf("RequireAgent refused %q: %v", agent.AgentKind(), err)
		}
		wantCode(t, entra.DenyAgents().Check(agent), entra.ErrAgentNotAllowed)
	}
	for _, other := range []*entra.Claims{human, app} {
		wantCode(t, entra.RequireAgent().Check(other), entra.ErrForbidden)
		if err := entra.DenyAgents().Check(other); err != nil {
			t.Errorf("DenyAgents refused a non-agent: %v", err)
		}
	}
	onlyUsers := entra.RequireAgent(entra.AgentUserAccount, entra.AgentOnBehalfOfUser)
	wantCode(t, onlyUsers.Check(auto), entra.ErrForbidden)
	if onlyUsers.Check(user) != nil || onlyUsers.Check(obo) != nil {
		t.Error("RequireAgent(kinds) refused a listed kind")
	}
	// Humans only: a signed-in user who is no agent.
	humans := entra.AllOf(entra.RequireUser(), entra.DenyAgents())
	if humans.Check(human) != nil {
		t.Error("human refused")
	}
	wantCode(t, humans.Check(obo), entra.ErrAgentNotAllowed)
	for _, k := range []entra.AgentKind{entra.AgentNone, "robot"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireAgent(%q) did not panic", k)
				}
			}()
			entra.RequireAgent(k)
		}()
	}
	if r := entra.ResponseFor(context.Background(), entra.DenyAgents().Check(obo)); r.Status != http.StatusForbidden {
		t.Errorf("DenyAgents answered %d, want 403", r.Status)
	}
}

// WithoutAgents refuses agents on the whole API, from the cache too.
func TestWithoutAgentsOption(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	h := entra.Middleware(v, entra.WithoutAgents())(http.HandlerFunc(okHandler))
	tok := srv.AgentOnBehalfOfToken("Orders.Read")
	for i := range 2 { // the second is answered from the verified-token cache
		rec := get(t, h, "/api/me", http.Header{"Authorization": {"Bearer " + tok}})
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `"code":"agent_not_allowed"`) {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if rec := get(t, h, "/api/me", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}}); rec.Code != http.StatusOK {
		t.Errorf("a human's token: %d %s", rec.Code, rec.Body)
	}
}

// recordHandler keeps the attributes of every record.
type recordHandler struct {
	mu      sync.Mutex
	records []map[string]string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	h.mu.Lock()
	h.records = append(h.records, m)
	h.mu.Unlock()
	return nil
}

// The refusal log line carries the agent's blueprint (xms_par_app_azp),
// for auditing, when an agent is refused, and nothing of it otherwise.
func TestRefusalLogCarriesAgentBlueprint(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	rec := &recordHandler{}
	h := entra.Middleware(v, entra.WithLogger(slog.New(rec)))(entra.RequireRole("Admin").Middleware(http.HandlerFunc(okHandler)))
	get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.AgentAppToken("Orders.Read.All")}})                    // guard refusal
	get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.Mint(entratest.Token{Agent: entra.AgentAutonomous})}}) // default policy
	get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}})                            // not an agent
	get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.AgentAppToken("R") + "x"}})                            // invalid: no claims
	if len(rec.records) != 4 {
		t.Fatalf("%d records, want 4", len(rec.records))
	}
	for i, want := range []string{srv.AgentBlueprintID(), srv.AgentBlueprintID(), "", ""} {
		if got := rec.records[i]["agent_blueprint_app_id"]; got != want {
			t.Errorf("record %d (%s): agent_blueprint_app_id %q, want %q", i, rec.records[i]["code"], got, want)
		}
	}
}

// xms_idrel 5 (guest user) makes a user a guest, as acct 1 does.
func TestIdentityRelationGuest(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	guest := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"xms_idrel": "5"}}))
	member := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"xms_idrel": "1"}}))
	if !guest.IsGuest() || member.IsGuest() {
		t.Errorf("IsGuest: xms_idrel 5 %v, xms_idrel 1 %v", guest.IsGuest(), member.IsGuest())
	}
	wantCode(t, entra.RequireMember().Check(guest), entra.ErrForbidden)
	if !slices.Equal(guest.IdentityRelations(), []entra.IdentityRelation{entra.RelationGuestUser}) {
		t.Errorf("IdentityRelations %v", guest.IdentityRelations())
	}
}

// A refusal by the default policy or WithoutAgents leaves the hooks'
// context without claims: the request was not authenticated.
func TestPolicyRefusalHookContextHasNoClaims(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	var codes []entra.Code
	var sawClaims bool
	hook := entra.OnRejected(func(ctx context.Context, err *entra.Error) {
		_, ok := entra.ClaimsFromContext(ctx)
		sawClaims = sawClaims || ok
		codes = append(codes, err.Code)
	})
	h := entra.Middleware(v, entra.WithoutAgents(), hook)(http.HandlerFunc(okHandler))
	for _, tok := range []string{srv.Mint(entratest.Token{}), srv.AgentAppToken("R"), srv.Mint(entratest.Token{Roles: []string{"R"}, Claims: map[string]any{"nonce": "n"}})} {
		get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
	}
	want := []entra.Code{entra.CodeNoScopeOrRole, entra.CodeAgentNotAllowed, entra.CodeIDTokenNotAccepted}
	if !slices.Equal(codes, want) || sawClaims {
		t.Errorf("codes %v (want %v), claims in the hook's context: %v", codes, want, sawClaims)
	}
}

// Facet values as real tokens carry them (values the docs do not list,
// even numbers, any order) and agent tokens without facets, as Entra
// issues them for a custom API that does not request the optional
// claims: no such token is refused, and each gets the verdict its claims
// support.
func TestAgentRealFacetValues(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	blueprint := "30cf4c22-9985-4ef7-8756-91cc888176bd"
	app := func(claims map[string]any) entratest.Token {
		return entratest.Token{App: true, Roles: []string{"Orders.Read.All"}, Claims: claims}
	}
	user := func(claims map[string]any) entratest.Token {
		return entratest.Token{Scopes: []string{"Orders.Read"}, Claims: claims}
	}
	for _, tc := range []struct {
		name      string
		tok       entratest.Token
		agent     bool
		kind      entra.AgentKind
		identity  entra.IdentityType
		hasClaims bool
		guest     bool
	}{
		// Classic callers, facets from real Graph and managed identity tokens.
		{"app, Graph facets 9 3 / idrel 8 7 / tenant 10 3", app(map[string]any{"xms_act_fct": "9 3", "xms_sub_fct": "9 3", "xms_idrel": "8 7", "xms_tnt_fct": "10 3"}), false, entra.AgentNone, entra.IdentityApp, true, false},
		{"managed identity, 3 9 / idrel 7 4", app(map[string]any{"xms_act_fct": "3 9", "xms_sub_fct": "9 3", "xms_idrel": "7 4"}), false, entra.AgentNone, entra.IdentityApp, true, false},
		{"app, idrel 7 26", app(map[string]any{"xms_idrel": "7 26"}), false, entra.AgentNone, entra.IdentityApp, false, false},
		{"user, act 1 9 (issue 23)", user(map[string]any{"xms_act_fct": "1 9", "xms_idrel": "1"}), false, entra.AgentNone, entra.IdentityUser, true, false},
		{"app without idtyp, sub not oid, idrel 14 7 (issue 23)", app(map[string]any{"idtyp": nil, "sub": "cccccccc-1111-2222-3333-444444444444", "xms_idrel": "14 7"}), false, entra.AgentNone, entra.IdentityApp, false, false},
		{"guest, idrel 14 5", user(map[string]any{"xms_idrel": "14 5"}), false, entra.AgentNone, entra.IdentityUser, false, true},
		// Agents, facets in any order and beside unknown values.
		{"autonomous, 11 last / first", app(map[string]any{"xms_act_fct": "9 3 11", "xms_sub_fct": "11 9 3", "xms_par_app_azp": blueprint}), true, entra.AgentAutonomous, entra.IdentityApp, true, false},
		{"autonomous, facets only, unknown 14", app(map[string]any{"xms_act_fct": "14 11", "xms_sub_fct": "11"}), true, entra.AgentAutonomous, entra.IdentityApp, true, false},
		{"agent user, 13 among others", user(map[string]any{"idtyp": "user", "xms_act_fct": "9 11 1", "xms_sub_fct": "13 3"}), true, entra.AgentUserAccount, entra.IdentityUser, true, false},
		{"on behalf of a user, act 1 11", user(map[string]any{"idtyp": "user", "xms_act_fct": "1 11", "xms_idrel": "1"}), true, entra.AgentOnBehalfOfUser, entra.IdentityUser, true, false},
		// Agents whose API asked for no optional claim (issues #3882, #3938).
		{"agent, app-only, no facets, no blueprint", app(map[string]any{"azp": srv.AgentID()}), false, entra.AgentNone, entra.IdentityApp, false, false},
		{"agent, app-only, blueprint only", app(map[string]any{"xms_par_app_azp": blueprint}), true, entra.AgentAutonomous, entra.IdentityApp, true, false},
		{"agent, delegated, blueprint only", user(map[string]any{"xms_par_app_azp": blueprint}), true, entra.AgentUnspecified, entra.IdentityUser, true, false},
		{"agent, delegated, empty facets, blueprint", user(map[string]any{"xms_act_fct": "", "xms_sub_fct": " ", "xms_par_app_azp": blueprint}), true, entra.AgentUnspecified, entra.IdentityUser, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustValidate(t, v, srv.Mint(tc.tok))
			if c.IsAgent() != tc.agent || c.AgentKind() != tc.kind || c.IdentityType() != tc.identity || c.HasAgentClaims() != tc.hasClaims || c.IsGuest() != tc.guest {
				t.Errorf("IsAgent %v, AgentKind %q, IdentityType %q, HasAgentClaims %v, IsGuest %v; want %v, %q, %q, %v, %v",
					c.IsAgent(), c.AgentKind(), c.IdentityType(), c.HasAgentClaims(), c.IsGuest(), tc.agent, tc.kind, tc.identity, tc.hasClaims, tc.guest)
			}
			// The guards follow the verdict.
			if err := entra.DenyAgents().Check(c); (err != nil) != tc.agent {
				t.Errorf("DenyAgents: %v", err)
			}
			if err := entra.RequireAgent().Check(c); (err == nil) != tc.agent {
				t.Errorf("RequireAgent(): %v", err)
			}
		})
	}
	var nilClaims *entra.Claims
	if nilClaims.HasAgentClaims() {
		t.Error("a nil *Claims has agent claims")
	}
}

// An agent whose delegated token does not say its kind meets RequireAgent
// with kinds only when AgentUnspecified is one of them: it could be an
// agent's own user account as well as an agent acting for a person.
func TestAgentUnspecifiedKind(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	c := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"xms_par_app_azp": srv.AgentBlueprintID()}}))
	for _, tc := range []struct {
		req  entra.Requirement
		pass bool
	}{
		{entra.RequireAgent(), true},
		{entra.RequireAgent(entra.AgentUnspecified), true},
		{entra.RequireAgent(entra.AgentOnBehalfOfUser), false},
		{entra.RequireAgent(entra.AgentUserAccount), false},
		{entra.RequireAgent(entra.AgentOnBehalfOfUser, entra.AgentUnspecified), true},
		{entra.RequireUser(), true},
	} {
		if err := tc.req.Check(c); (err == nil) != tc.pass {
			t.Errorf("%s: %v, want pass %v", tc.req, err, tc.pass)
		}
	}
	wantCode(t, entra.DenyAgents().Check(c), entra.ErrAgentNotAllowed)
	if !strings.Contains(entra.AgentClaimsHint, "xms_act_fct") || !strings.Contains(entra.AgentClaimsHint, "optional claim") {
		t.Errorf("hint %q", entra.AgentClaimsHint)
	}
}
