package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

func newAuthority(t *testing.T) *entratest.Server {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// explain runs "entraguard explain" with the token on stdin.
func explain(t *testing.T, token string, args ...string) (int, string) {
	t.Helper()
	code, out, stderr := runCmd(t, token, append([]string{"explain"}, args...)...)
	return code, out + stderr
}

func TestExplainOffline(t *testing.T) {
	srv := newAuthority(t)
	good := srv.UserToken("Orders.Read")
	cfg := []string{"-tenant", srv.TenantID, "-client-id", srv.ClientID, "-offline"}
	tests := []struct {
		name  string
		token string
		args  []string
		code  int
		codes []entra.Code // every failing check, in order
	}{
		{name: "valid", token: good, args: cfg, code: exitOK},
		{name: "valid, no configuration", token: good, code: exitOK},
		{name: "expired", token: srv.Mint(entratest.Token{Scopes: []string{"x"}, IssuedAt: time.Now().Add(-3 * time.Hour)}), args: cfg, code: exitFailure, codes: []entra.Code{entra.CodeTokenExpired}},
		{name: "not yet valid", token: srv.Mint(entratest.Token{Scopes: []string{"x"}, IssuedAt: time.Now().Add(time.Hour)}), args: cfg, code: exitFailure, codes: []entra.Code{entra.CodeTokenNotYetValid}},
		{name: "another audience", token: srv.Mint(entratest.Token{Audience: "api://someone-else", Scopes: []string{"x"}}), args: cfg, code: exitFailure, codes: []entra.Code{entra.CodeAudienceInvalid}},
		{name: "Graph token", token: srv.Mint(entratest.Token{Audience: "https://graph.microsoft.com", Scopes: []string{"User.Read"}, Header: map[string]any{"nonce": "abc"}}), args: cfg, code: exitFailure, codes: []entra.Code{entra.CodeFirstPartyToken, entra.CodeAudienceInvalid}},
		{name: "another tenant", token: srv.Mint(entratest.Token{TenantID: "6babcaad-604b-40ac-a9d7-9fd97c0b779f", Scopes: []string{"x"}}), args: cfg, code: exitFailure, codes: []entra.Code{entra.CodeIssuerInvalid}},
		{name: "expired, wrong audience, no permissions", token: srv.Mint(entratest.Token{Audience: "other", IssuedAt: time.Now().Add(-3 * time.Hour)}), args: cfg, code: exitFailure, codes: []entra.Code{entra.CodeTokenExpired, entra.CodeAudienceInvalid, entra.CodeNoScopeOrRole}},
		{name: "alg none", token: srv.Sign(map[string]any{"alg": "none"}, map[string]any{"exp": time.Now().Add(time.Hour).Unix(), "scp": "x", "aud": srv.ClientID}), code: exitFailure, codes: []entra.Code{entra.CodeAlgorithmNotAllowed, entra.CodeClaimMissing}},
		{name: "two segments", token: "abc.def", code: exitFailure, codes: []entra.Code{entra.CodeTokenMalformed}},
		{name: "encrypted", token: "a.b.c.d.e", code: exitFailure, codes: []entra.Code{entra.CodeTokenUnsupported}},
		{name: "not base64", token: "!!.??.sig", code: exitFailure, codes: []entra.Code{entra.CodeTokenMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := explain(t, tt.token, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.code, out)
			}
			if n := strings.Count(out, "  FAIL  "); n != len(tt.codes) {
				t.Errorf("%d failing checks, want %d:\n%s", n, len(tt.codes), out)
			}
			rest := out
			for _, c := range tt.codes {
				i := strings.Index(rest, string(c))
				if i < 0 {
					t.Fatalf("no %s (in order) in:\n%s", c, out)
				}
				rest = rest[i:]
				if !strings.Contains(rest, "fix: "+c.Fix()) {
					t.Errorf("%s without its fix %q:\n%s", c, c.Fix(), out)
				}
			}
			if strings.Contains(out, tt.token) && len(tt.token) > 20 {
				t.Error("the output repeats the token")
			}
		})
	}
}

func TestExplainMasksPersonalValues(t *testing.T) {
	srv := newAuthority(t)
	srv.UserName, srv.UserPrincipalName = "Adele Vance", "AdeleV@contoso.onmicrosoft.com"
	tok := srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"Orders.Read"}})
	_, out := explain(t, tok)
	for _, secret := range []string{"Adele Vance", "AdeleV@", srv.UserObjectID, "203.0.113.7"} {
		if strings.Contains(out, secret) {
			t.Errorf("the output shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"A**** V**** (masked)", "A*****@contoso.onmicrosoft.com (masked)", "(masked IP address)", "-show-personal", "Orders.Read"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	_, out = explain(t, tok, "-show-personal")
	for _, want := range []string{"Adele Vance", "AdeleV@contoso.onmicrosoft.com", srv.UserObjectID} {
		if !strings.Contains(out, want) {
			t.Errorf("-show-personal: the output lacks %q", want)
		}
	}
	// An app's object ID is not personal.
	_, out = explain(t, srv.AppToken("Orders.Read.All"))
	if !strings.Contains(out, srv.CallerObjectID) {
		t.Errorf("an app-only token's oid is masked:\n%s", out)
	}
}

func TestExplainInputForms(t *testing.T) {
	srv := newAuthority(t)
	tok := srv.UserToken("Orders.Read")
	for name, run := range map[string]func() (int, string){
		"argument":      func() (int, string) { c, o, _ := runCmd(t, "", "explain", tok); return c, o },
		"stdin":         func() (int, string) { return explain(t, tok+"\n") },
		"dash":          func() (int, string) { return explain(t, tok, "-") },
		"Bearer prefix": func() (int, string) { return explain(t, "Bearer "+tok) },
		"header line":   func() (int, string) { return explain(t, "Authorization: Bearer "+tok+"\r\n") },
		"quoted":        func() (int, string) { return explain(t, `"`+tok+`"`) },
	} {
		if code, out := run(); code != exitOK || !strings.Contains(out, "Orders.Read") {
			t.Errorf("%s: %d\n%s", name, code, out)
		}
	}
	if code, out := explain(t, "  \n"); code != exitUsage || !strings.Contains(out, "no token") {
		t.Errorf("empty stdin: %d %q", code, out)
	}
	if code, _, _ := runCmd(t, "", "explain", "a", "b"); code != exitUsage {
		t.Errorf("two tokens: %d", code)
	}
}

func TestExplainValidates(t *testing.T) {
	srv := newAuthority(t)
	args := []string{"-tenant", srv.TenantID, "-client-id", srv.ClientID, "-authority-host", srv.URL + "/"}
	if code, out := explain(t, srv.UserToken("Orders.Read"), args...); code != exitOK || !strings.Contains(out, "Result: ACCEPTED") {
		t.Fatalf("valid token: %d\n%s", code, out)
	}
	// Right shape, wrong signature: only the validator can tell.
	forged := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, KeyID: srv.AddUnpublishedKey()})
	code, out := explain(t, forged, args...)
	if code != exitFailure || !strings.Contains(out, string(entra.CodeUnknownKey)) || !strings.Contains(out, entra.CodeUnknownKey.Fix()) {
		t.Fatalf("unpublished key: %d\n%s", code, out)
	}
	parts := strings.Split(srv.UserToken("Orders.Read"), ".")
	parts[2] = strings.Repeat("A", len(parts[2]))
	code, out = explain(t, strings.Join(parts, "."), args...)
	if code != exitFailure || !strings.Contains(out, string(entra.CodeSignatureInvalid)) {
		t.Fatalf("bad signature: %d\n%s", code, out)
	}
	// The metadata URL form.
	code, out = explain(t, srv.UserToken("Orders.Read"), "-metadata-url", srv.URL+"/"+srv.TenantID+"/v2.0/.well-known/openid-configuration")
	if code != exitOK {
		t.Fatalf("-metadata-url: %d\n%s", code, out)
	}
	// An unreachable authority: keys_unavailable, with its fix.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	code, out = explain(t, srv.UserToken("Orders.Read"), "-tenant", srv.TenantID, "-client-id", srv.ClientID, "-authority-host", dead.URL+"/", "-timeout", "500ms")
	if code != exitFailure || !strings.Contains(out, "fix: ") {
		t.Fatalf("dead authority: %d\n%s", code, out)
	}
}

// recorder is an authority in front of entratest that records every request.
type recorder struct {
	srv *entratest.Server
	mu  sync.Mutex
	log []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var b strings.Builder
	b.WriteString(req.Method + " " + req.URL.String() + "\n")
	for k, v := range req.Header {
		b.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	buf := make([]byte, 1<<16)
	n, _ := req.Body.Read(buf)
	b.Write(buf[:n])
	r.mu.Lock()
	r.log = append(r.log, b.String())
	r.mu.Unlock()
	r.srv.ServeHTTP(w, req)
}

func TestExplainSendsTheTokenNowhere(t *testing.T) {
	srv := entratest.NewUnstartedServer()
	t.Cleanup(srv.Close)
	rec := &recorder{srv: srv}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	srv.URL = ts.URL
	tok := srv.UserToken("Orders.Read")
	code, out := explain(t, tok, "-tenant", srv.TenantID, "-client-id", srv.ClientID, "-authority-host", ts.URL+"/")
	if code != exitOK {
		t.Fatalf("%d\n%s", code, out)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.log) == 0 {
		t.Fatal("the authority got no request")
	}
	sig := tok[strings.LastIndex(tok, ".")+1:]
	for _, r := range rec.log {
		if strings.Contains(r, sig) || strings.Contains(r, tok[:40]) {
			t.Errorf("a request carries the token:\n%s", r)
		}
		path := strings.Fields(r)[1]
		if !strings.Contains(path, "openid-configuration") && !strings.Contains(path, "/keys") {
			t.Errorf("a request to %s, not to metadata or keys", path)
		}
	}
}
