package entra_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// freshClock is the fake clock of these tests, shared by the authority,
// the list and the validator.
type freshClock struct{ ns atomic.Int64 }

func (c *freshClock) Now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *freshClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// freshEnv is an API with a revocation list, on a fake clock.
type freshEnv struct {
	srv  *entratest.Server
	list *entra.RevocationList
	v    *entra.Validator
	clk  *freshClock
	api  http.Handler
}

func newFreshEnv(t *testing.T, start time.Time) *freshEnv {
	t.Helper()
	clk := &freshClock{}
	clk.Set(start)
	srv := entratest.NewServer(entratest.WithClock(clk.Now))
	t.Cleanup(srv.Close)
	list := entra.NewRevocationList(entra.RevocationListOptions{Now: clk.Now})
	cfg := srv.Config()
	cfg.Now = clk.Now
	cfg.Revocations = list
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return &freshEnv{srv: srv, list: list, v: v, clk: clk, api: entra.Middleware(v)(ok)}
}

// entraToken mints a token shaped as Entra issues one at issued: iat five
// minutes back, nbf = iat, exp = issued + an hour (exp - iat = 65 min, as
// in every real token of ../shared/vectors). edit adjusts it.
func (e *freshEnv) entraToken(issued time.Time, edit func(*entratest.Token)) string {
	tok := entratest.Token{
		Scopes:    []string{"Orders.Read"},
		IssuedAt:  issued.Add(-5 * time.Minute),
		NotBefore: issued.Add(-5 * time.Minute),
		ExpiresAt: issued.Add(time.Hour),
	}
	if edit != nil {
		edit(&tok)
	}
	return e.srv.Mint(tok)
}

type freshAnswer struct {
	status      int
	oauth, code string
	desc        string
	claims      string // decoded claims parameter
}

var freshClaimsParam = regexp.MustCompile(`, claims="([^"]*)"`)

func (e *freshEnv) call(t *testing.T, tok string) freshAnswer {
	t.Helper()
	req := httptest.NewRequest("GET", "/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	a := freshAnswer{status: rec.Code}
	if rec.Code == http.StatusOK {
		return a
	}
	var b map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	a.oauth, a.code, a.desc = b["error"], b["code"], b["error_description"]
	if m := freshClaimsParam.FindStringSubmatch(rec.Header().Get("WWW-Authenticate")); m != nil {
		raw, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("claims %q: %v", m[1], err)
		}
		a.claims = string(raw)
	}
	return a
}

// A user revoked at T, then signing in again, with tokens shaped as Entra
// issues them: a plain new token passes from T + 5 min (its iat is
// backdated); a client that handles claims challenges is asked for a token
// with nbf >= T, and the token Entra issues for that passes at once; a
// token minted before T with a far nbf proves nothing and stays refused.
func TestFreshSignInAfterRevocation(t *testing.T) {
	T := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	e := newFreshEnv(t, T.Add(-10*time.Minute))
	cp1 := func(tok *entratest.Token) { tok.ClientCapabilities = []string{"cp1"} }
	old := e.entraToken(T.Add(-10*time.Minute), nil)
	oldCP1 := e.entraToken(T.Add(-10*time.Minute), cp1)
	// Asked for nbf T+1m before the revocation (issued at T-10m).
	preMinted := e.entraToken(T.Add(-10*time.Minute), func(tok *entratest.Token) { tok.NotBefore = T.Add(time.Minute) })
	if a := e.call(t, old); a.status != 200 {
		t.Fatalf("before the revocation: %+v", a)
	}
	if _, err := e.list.RevokeUser(e.srv.TenantID, e.srv.UserObjectID, T, "account compromised"); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(T.Add(time.Minute))
	nbfChallenge := `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(T.Unix(), 10) + `"}}}`

	for _, tc := range []struct {
		name   string
		at     time.Time // clock
		tok    string
		status int
		oauth  string
		claims string
		desc   string
	}{
		{"old token (a cache hit too)", T.Add(time.Minute), old, 401, "invalid_token", "", "a token Entra issues 5 minutes or more after the revocation passes"},
		{"new sign-in 1 min after, plain client", T.Add(time.Minute), e.entraToken(T.Add(time.Minute), nil), 401, "invalid_token", "", "(Entra dates tokens 5 minutes back); sign in again then, bypassing the client's token cache"},
		{"old token, cp1 client", T.Add(time.Minute), oldCP1, 401, "insufficient_claims", nbfChallenge, "request a new token with the claims in this challenge"},
		{"new sign-in 1 min after, cp1 client", T.Add(time.Minute), e.entraToken(T.Add(time.Minute), cp1), 401, "insufficient_claims", nbfChallenge, "issued before a revocation are refused"},
		{"the token Entra issues for the challenge (nbf = T)", T.Add(time.Minute), e.entraToken(T.Add(time.Minute), func(tok *entratest.Token) { cp1(tok); tok.NotBefore = T }), 200, "", "", ""},
		{"issued at T for the challenge (nbf = iat + 5 min)", T.Add(time.Minute), e.entraToken(T, func(tok *entratest.Token) { tok.NotBefore = T }), 200, "", "", ""},
		{"nbf one second short of T", T.Add(time.Minute), e.entraToken(T.Add(time.Minute), func(tok *entratest.Token) { tok.NotBefore = T.Add(-time.Second) }), 401, "invalid_token", "", "5 minutes or more"},
		{"nbf after T but more than 5 min after iat", T.Add(2 * time.Minute), preMinted, 401, "invalid_token", "", "5 minutes or more"},
		{"nbf after T, no iat", T.Add(time.Minute), e.entraToken(T.Add(time.Minute), func(tok *entratest.Token) {
			tok.NotBefore = T
			tok.Claims = map[string]any{"iat": nil}
		}), 401, "invalid_token", "", "5 minutes or more"},
		{"new sign-in 4 min 59 s after", T.Add(5 * time.Minute), e.entraToken(T.Add(5*time.Minute-time.Second), nil), 401, "invalid_token", "", "5 minutes or more"},
		{"new sign-in 5 min after", T.Add(5 * time.Minute), e.entraToken(T.Add(5*time.Minute), nil), 200, "", "", ""},
		{"old token, still", T.Add(30 * time.Minute), old, 401, "invalid_token", "", "5 minutes or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Set(tc.at)
			for range 2 { // the second one is a cache hit
				a := e.call(t, tc.tok)
				if a.status != tc.status {
					t.Fatalf("status %d %+v, want %d", a.status, a, tc.status)
				}
				if tc.status == 200 {
					continue
				}
				if a.code != string(entra.CodeTokenRevoked) || a.oauth != tc.oauth || a.claims != tc.claims || !strings.Contains(a.desc, tc.desc) {
					t.Errorf("%+v; want error %q, claims %q, description with %q", a, tc.oauth, tc.claims, tc.desc)
				}
			}
		})
	}
}

// The other cut-off kinds answer alike, in their own words; the cause
// names the cut-off; a cut-off ahead names when tokens pass, without a
// challenge; a revoked token (by uti) is not a cut-off and is unchanged.
func TestFreshSignInKinds(t *testing.T) {
	T := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	e := newFreshEnv(t, T.Add(time.Minute))
	cp1 := func(tok *entratest.Token) { tok.ClientCapabilities = []string{"cp1"} }
	nbfChallenge := `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(T.Unix(), 10) + `"}}}`

	app := e.entraToken(T.Add(-time.Minute), func(tok *entratest.Token) { tok.App = true; tok.Scopes = nil; tok.Roles = []string{"R"} })
	if _, err := e.list.RevokeApp(e.srv.CallerID, T, "leaked secret"); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, app); a.status != 401 || a.oauth != "invalid_token" || !strings.Contains(a.desc, "the tokens of the calling application issued before a revocation are refused: a token Entra issues 5 minutes or more after the revocation passes") || !strings.Contains(a.desc, "credentials are replaced") {
		t.Errorf("app kind: %+v", a)
	}
	_, err := e.v.Validate(ctxT(t), app)
	if re, ok := entra.RevocationOf(err); !ok || re.Kind != entra.RevocationApp || !re.IssuedBefore.Equal(T) {
		t.Errorf("cause %#v", re)
	}

	user := e.entraToken(T.Add(-time.Minute), cp1)
	if _, err := e.list.RevokeTenant(e.srv.TenantID, T, "incident"); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, user); a.status != 401 || a.oauth != "insufficient_claims" || a.claims != nbfChallenge || !strings.Contains(a.desc, "the tokens of this tenant") {
		t.Errorf("tenant kind, cp1: %+v", a)
	}

	// A cut-off an hour ahead blocks until then, even cp1 clients.
	ahead := T.Add(time.Hour)
	if _, err := e.list.Revoke(entra.Revocation{Kind: entra.RevocationUser, TenantID: e.srv.TenantID, ObjectID: e.srv.UserObjectID, IssuedBefore: ahead}); err != nil {
		t.Fatal(err)
	}
	e.list.LiftKey("tenant:" + strings.ToLower(e.srv.TenantID))
	e.list.LiftKey("app:" + strings.ToLower(e.srv.CallerID))
	a := e.call(t, e.entraToken(T.Add(time.Minute), cp1))
	want := "the tokens of this user or app are refused until 2026-12-06T10:00:00Z: a token Entra issues from 2026-12-06T10:05:00Z on passes (Entra dates tokens 5 minutes back)"
	if a.status != 401 || a.oauth != "invalid_token" || a.claims != "" || a.desc != want {
		t.Errorf("cut-off ahead: %+v\nwant %q", a, want)
	}

	// One token revoked by its uti keeps its own answer.
	tok := e.entraToken(T.Add(2*time.Minute), func(tok *entratest.Token) {
		tok.ObjectID, tok.ClientID = "99999999-8888-7777-6666-555555555555", "12121212-3434-5656-7878-909090909090"
	})
	c := mustValidate(t, e.v, tok)
	if _, err := e.list.RevokeToken(c.TokenID(), "leaked", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, tok); a.status != 401 || a.desc != "the token has been revoked: get a new token" || a.claims != "" {
		t.Errorf("token kind: %+v", a)
	}
}
