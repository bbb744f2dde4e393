package entra_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// stepUpAnswer is what a refused step-up request was answered.
type stepUpAnswer struct {
	status    int
	challenge string // WWW-Authenticate
	body      map[string]string
	claims    string // the decoded claims parameter, "" without one
}

var claimsParam = regexp.MustCompile(`, claims="([^"]*)"`)

// serveStepUp sends tok through the net/http middleware to a route
// guarded by reqs and returns the answer (status 200 when it passed).
func serveStepUp(t *testing.T, v *entra.Validator, tok string, reqs ...entra.Requirement) stepUpAnswer {
	t.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	h := entra.Middleware(v)(entra.AllOf(reqs...).Middleware(ok))
	req := httptest.NewRequest("POST", "/payments/approve", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := stepUpAnswer{status: rec.Code, challenge: rec.Header().Get("WWW-Authenticate")}
	if rec.Code == http.StatusOK {
		return a
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if m := claimsParam.FindStringSubmatch(a.challenge); m != nil {
		raw, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("claims parameter %q is not standard base64: %v", m[1], err)
		}
		a.claims = string(raw)
	}
	return a
}

// RequireAuthContext passes a token carrying the context, challenges a
// client that handles claims challenges (xms_cc cp1) with Microsoft's
// format, and refuses every other caller with a 403 naming the context.
func TestRequireAuthContext(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	authURI := v.AuthorizationURL()
	if authURI == "" {
		t.Fatal("no authorization URL once ready")
	}
	user := func(acrs, xmsCC []string) string {
		return srv.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, AuthContexts: acrs, ClientCapabilities: xmsCC})
	}
	const c1Claims = `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	const challengeDesc = `the token lacks the authentication context \"c1\" (acrs) that this operation requires: request a new token with the claims in this challenge, satisfying its Conditional Access policy`

	for _, tc := range []struct {
		name   string
		tok    string
		reqs   []entra.Requirement
		status int
		oauth  string // body error
		claims string // decoded claims parameter
		desc   string // substring of the description
	}{
		{"stepped up", user([]string{"c1"}, []string{"cp1"}), []entra.Requirement{entra.RequireAuthContext("c1")}, 200, "", "", ""},
		{"stepped up, other contexts too, upper case", user([]string{"c3", "C1"}, nil), []entra.Requirement{entra.RequireAuthContext("c1")}, 200, "", "", ""},
		{"ID given in upper case", user([]string{"c1"}, nil), []entra.Requirement{entra.RequireAuthContext("C1")}, 200, "", "", ""},
		{"one of two", user([]string{"c2"}, nil), []entra.Requirement{entra.RequireAuthContext("c1", "c2")}, 200, "", "", ""},
		{"cp1 client challenged", user(nil, []string{"cp1"}), []entra.Requirement{entra.RequireAuthContext("c1")}, 401, "insufficient_claims", c1Claims, "the token lacks the authentication context \"c1\""},
		{"CP1 as MSAL.js sends it", user([]string{"c2"}, []string{"CP1"}), []entra.Requirement{entra.RequireAuthContext("c1")}, 401, "insufficient_claims", c1Claims, "request a new token with the claims in this challenge"},
		{"challenge asks for the first of several", user(nil, []string{"cp1"}), []entra.Requirement{entra.RequireAuthContext("c1", "c2")}, 401, "insufficient_claims", c1Claims, "one of the authentication contexts \"c1\", \"c2\""},
		{"other capability only", user(nil, []string{"cp2"}), []entra.Requirement{entra.RequireAuthContext("c1")}, 403, "insufficient_scope", "", "lacks the authentication context \"c1\" (acrs)"},
		{"client without capabilities", user([]string{"c2"}, nil), []entra.Requirement{entra.RequireAuthContext("c1")}, 403, "insufficient_scope", "", "asks for acrs \"c1\" as an essential claim"},
		{"app-only token, even with cp1", srv.Mint(entratest.Token{App: true, Roles: []string{"Payments.Approve.All"}, ClientCapabilities: []string{"cp1"}}), []entra.Requirement{entra.RequireAuthContext("c1")}, 403, "insufficient_scope", "", "an app-only token cannot carry one"},
		{"with a scope requirement met", user(nil, []string{"cp1"}), []entra.Requirement{entra.RequireScope("Payments.Approve"), entra.RequireAuthContext("c7")}, 401, "insufficient_claims", `{"access_token":{"acrs":{"essential":true,"value":"c7"}}}`, "\"c7\""},
		{"AnyOf: a role or the context, cp1", user(nil, []string{"cp1"}), []entra.Requirement{entra.AnyOf(entra.RequireRole("Admin"), entra.RequireAuthContext("c1"))}, 401, "insufficient_claims", c1Claims, "\"c1\""},
		{"AnyOf: a role or the context, plain client", user(nil, nil), []entra.Requirement{entra.AnyOf(entra.RequireRole("Admin"), entra.RequireAuthContext("c1"))}, 403, "insufficient_scope", "", "any of (role \"Admin\"; authentication context \"c1\")"},
		{"scope requirement first", user([]string{"c7"}, []string{"cp1"}), []entra.Requirement{entra.RequireScope("Other"), entra.RequireAuthContext("c7")}, 403, "insufficient_scope", "", "scope \"Other\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := serveStepUp(t, v, tc.tok, tc.reqs...)
			if a.status != tc.status {
				t.Fatalf("status %d %v, want %d", a.status, a.body, tc.status)
			}
			if tc.status == 200 {
				return
			}
			if a.body["error"] != tc.oauth || !strings.Contains(a.body["error_description"], tc.desc) {
				t.Errorf("body %v; want error %q, description with %q", a.body, tc.oauth, tc.desc)
			}
			if tc.oauth != "insufficient_scope" || !strings.Contains(tc.desc, "scope") && !strings.Contains(tc.desc, "any of") {
				if a.body["code"] != string(entra.CodeAuthContextRequired) {
					t.Errorf("code %q", a.body["code"])
				}
			}
			if a.claims != tc.claims {
				t.Errorf("claims parameter %q, want %q (challenge %q)", a.claims, tc.claims, a.challenge)
			}
			if !strings.Contains(a.challenge, `error="`+tc.oauth+`"`) {
				t.Errorf("WWW-Authenticate %q lacks error=%q", a.challenge, tc.oauth)
			}
		})
	}

	// Microsoft's shape, byte for byte: realm, authorization_uri, error,
	// then (ours) the description, and the standard base64 claims.
	a := serveStepUp(t, v, user(nil, []string{"cp1"}), entra.RequireAuthContext("c1"))
	want := `Bearer realm="", authorization_uri="` + authURI + `", error="insufficient_claims", error_description="` + challengeDesc + `", claims="` +
		base64.StdEncoding.EncodeToString([]byte(c1Claims)) + `"`
	if a.challenge != want {
		t.Errorf("WWW-Authenticate\n\t%s\nwant\n\t%s", a.challenge, want)
	}
	if got := base64.StdEncoding.EncodeToString([]byte(c1Claims)); got != "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19" {
		t.Errorf("claims base64 %q", got)
	}
}

// Check returns the refusal as an *Error of its own code, with the claims
// request for clients that handle challenges; each call a fresh value.
func TestRequireAuthContextCheck(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	r := entra.RequireAuthContext("c12")
	if r.String() != `authentication context "c12"` {
		t.Errorf("String %q", r.String())
	}
	cp1 := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}, ClientCapabilities: []string{"cp1"}}))
	err := r.Check(cp1)
	var e *entra.Error
	if !errors.As(err, &e) || !errors.Is(err, entra.ErrAuthContextRequired) || e.Claims != `{"access_token":{"acrs":{"essential":true,"value":"c12"}}}` {
		t.Fatalf("Check: %v (%#v)", err, e)
	}
	e.Claims = "changed"
	if err := r.Check(cp1); err.(*entra.Error).Claims == "changed" {
		t.Error("Check returned a shared *Error")
	}
	plain := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}}))
	if err := r.Check(plain); !errors.Is(err, entra.ErrAuthContextRequired) || err.(*entra.Error).Claims != "" {
		t.Errorf("Check without cp1: %v", err)
	}
	wantCode(t, r.Check(nil), entra.ErrTokenMissing)
	// A claims challenge written by hand keeps its own code.
	if resp := entra.ResponseFor(context.Background(), entra.ClaimsChallenge(`{}`)); resp.Status != 401 || resp.Err.Code != entra.CodeInsufficientClaims {
		t.Errorf("ClaimsChallenge: %d %q", resp.Status, resp.Err.Code)
	}
	// Without Claims, the code answers 403 whatever the client.
	if resp := entra.ResponseFor(context.Background(), &entra.Error{Code: entra.CodeAuthContextRequired, Description: "x"}); resp.Status != 403 || strings.Contains(resp.Header.Get("WWW-Authenticate"), "claims=") {
		t.Errorf("without Claims: %d %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

// An ID that cannot be an authentication context is a set-up error.
func TestRequireAuthContextPanics(t *testing.T) {
	for _, ids := range [][]string{nil, {""}, {" c1"}, {"c0"}, {"c01"}, {"c100"}, {"c"}, {"mfa"}, {"Require MFA"}, {"c1", "x1"}, {"c1\""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireAuthContext(%q) did not panic", ids)
				}
			}()
			entra.RequireAuthContext(ids...)
		}()
	}
	for _, ids := range [][]string{{"c1"}, {"C99"}, {"c25", "c9"}} {
		entra.RequireAuthContext(ids...)
	}
}

// Claims reads acrs; a malformed acrs, or one that differs in letter case
// from acrs, makes the token malformed.
func TestClaimsAuthContexts(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	c := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}, AuthContexts: []string{"c1", "c4"}}))
	if !slices.Equal(c.AuthContexts(), []string{"c1", "c4"}) || !c.HasAuthContext("c4") || !c.HasAuthContext("C1") || c.HasAuthContext("c2") {
		t.Errorf("AuthContexts %v", c.AuthContexts())
	}
	c.AuthContexts()[0] = "c9"
	if c.HasAuthContext("c9") {
		t.Error("AuthContexts returned the claims' own slice")
	}
	one := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"acrs": "c2"}}))
	if !one.HasAuthContext("c2") {
		t.Errorf("acrs as a lone string: %v", one.AuthContexts())
	}
	none := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}}))
	var nilClaims *entra.Claims
	if none.AuthContexts() != nil || nilClaims.AuthContexts() != nil || nilClaims.HasAuthContext("c1") {
		t.Error("absent acrs reads as contexts")
	}
	for _, claims := range []map[string]any{{"acrs": 1}, {"acrs": []any{"c1", 2}}, {"acrs": map[string]any{"c1": true}}, {"ACRS": []string{"c1"}}} {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: claims}))
		wantCode(t, err, entra.ErrTokenMalformed)
	}
	cc := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"a"}, ClientCapabilities: []string{"CP1"}}))
	if !cc.HasClientCapability("cp1") || !slices.Equal(cc.ClientCapabilities(), []string{"CP1"}) {
		t.Errorf("xms_cc CP1: %v", cc.ClientCapabilities())
	}
}

// In MethodRules the requirement answers gRPC and Connect alike: a
// challenge is Unauthenticated carrying the WWW-Authenticate challenge and
// the refusal's Err with its claims; other callers PermissionDenied.
func TestRequireAuthContextRPC(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	a := entra.NewAuthenticator(v)
	rules := entra.NewMethodRules().Method("/pay.Payments/Approve", entra.RequireScope("Payments.Approve"), entra.RequireAuthContext("c1"))
	call := func(tok string) *entra.RPCStatus {
		_, st := a.AuthenticateRPC(ctxT(t), "/pay.Payments/Approve", entra.HeaderMetadata{"Authorization": {"Bearer " + tok}}, rules)
		return st
	}
	st := call(srv.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, ClientCapabilities: []string{"cp1"}}))
	if st == nil || st.Code != entra.RPCUnauthenticated || st.Reason != entra.CodeAuthContextRequired || st.Err.Claims != `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}` ||
		!strings.Contains(st.Challenge, `error="insufficient_claims"`) || !strings.Contains(st.Challenge, `claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`) {
		t.Fatalf("cp1 call: %+v", st)
	}
	st = call(srv.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}}))
	if st == nil || st.Code != entra.RPCPermissionDenied || st.Reason != entra.CodeAuthContextRequired || !strings.Contains(st.Message, `"c1"`) || strings.Contains(st.Challenge, "claims=") {
		t.Fatalf("plain call: %+v", st)
	}
	if st := call(srv.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, AuthContexts: []string{"c1"}})); st != nil {
		t.Fatalf("stepped-up call refused: %+v", st)
	}
}
