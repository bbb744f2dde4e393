package main

import (
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// Only claims known to say nothing about a person are shown: every other
// value, custom claims included, is masked unless -show-personal.
func TestExplainMasksAllButKnownImpersonalClaims(t *testing.T) {
	srv := newAuthority(t)
	personal := map[string]any{
		"puid":        "10032001A2B3C4D5",
		"altsecid":    "5::10032001A2B3C4D6",
		"sid":         "00a1b2c3-d4e5-46f7-8899-aabbccddeeff",
		"Email":       "adele.vance@contoso.example",
		"mobilePhone": "+1 425 555 0109",
		"deviceid":    "7f1e9c3a-2b4d-4e6f-8a0b-1c2d3e4f5a6b",
		"onprem_sid":  "S-1-5-21-1004336348-1177238915-682003330-512",
		"ctry":        "NZ",
		"xms_pl":      "mi-NZ",
		"employee":    map[string]any{"badge": "B-778812"},
		"aio":         "AWQAm/8ZAAAAxyzOpaqueSessionBlob==",
	}
	impersonal := map[string]any{
		"groups":      []any{"0c6d6b1c-4b57-4fa2-9a2d-3c1de1e1cf01"},
		"wids":        []any{"b79fbf4d-3ef9-4689-8143-76b194e85509"},
		"amr":         []any{"pwd", "mfa"},
		"acrs":        []any{"c1"},
		"xms_act_fct": "1 9",
		"xms_sub_fct": "3",
		"xms_cc":      []any{"cp1"},
		"idp":         "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/",
	}
	claims := map[string]any{}
	for k, v := range personal {
		claims[k] = v
	}
	for k, v := range impersonal {
		claims[k] = v
	}
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Roles: []string{"Orders.Admin"}, Claims: claims})
	code, out := explain(t, tok, "-tenant", srv.TenantID, "-client-id", srv.ClientID, "-offline")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for name, v := range personal {
		line := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` .*$`).FindString(out)
		for _, secret := range values(v) {
			// A short value ("NZ") may occur by chance in a random claim
			// such as uti: look for it on its own claim's line only.
			where := out
			if len(secret) < 8 {
				where = line
			}
			if strings.Contains(where, secret) {
				t.Errorf("%s: the output shows %q:\n%s", name, secret, out)
			}
		}
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +(\S.* )?\(masked[^)]*\)$`).MatchString(out) {
			t.Errorf("%s is not listed as masked:\n%s", name, out)
		}
	}
	for _, secret := range []string{srv.UserObjectID, srv.UserName, srv.UserPrincipalName, "10032001"} {
		if strings.Contains(out, secret) {
			t.Errorf("the output shows %q", secret)
		}
	}
	for name, v := range impersonal {
		for _, want := range values(v) {
			if !strings.Contains(out, want) {
				t.Errorf("%s: the output lacks %q:\n%s", name, want, out)
			}
		}
	}
	for _, want := range []string{srv.TenantID, srv.ClientID, srv.CallerID, "Orders.Read", "Orders.Admin", "-show-personal"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}

	_, out = explain(t, tok, "-show-personal", "-offline")
	for name, v := range personal {
		for _, want := range values(v) {
			if !strings.Contains(out, want) {
				t.Errorf("-show-personal: %s: the output lacks %q", name, want)
			}
		}
	}
	if strings.Contains(out, "(masked") {
		t.Errorf("-show-personal masks a value:\n%s", out)
	}
}

// values are the strings a claim's value shows when printed in clear.
func values(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, values(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, values(e)...)
		}
		return out
	}
	return nil
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
		// As the issue shows it: explain '"Bearer eyJ…"'.
		"quoted Bearer argument": func() (int, string) { c, o, _ := runCmd(t, "", "explain", `"Bearer `+tok+`"`); return c, o },
		"lower-case bearer, tab": func() (int, string) { return explain(t, "  bearer\t"+tok+"  \n") },
		"BEARER, spaces":         func() (int, string) { return explain(t, "BEARER   "+tok) },
		"single-quoted header":   func() (int, string) { return explain(t, `'Authorization: Bearer `+tok+`'`) },
		"header, no space":       func() (int, string) { return explain(t, "authorization:Bearer "+tok) },
		"header line, quoted":    func() (int, string) { return explain(t, `"Authorization: Bearer `+tok+`"`+"\r\n") },
		"typographic quotes":     func() (int, string) { return explain(t, "“Bearer "+tok+"”") },
	} {
		if code, out := run(); code != exitOK || !strings.Contains(out, "Orders.Read") {
			t.Errorf("%s: %d\n%s", name, code, out)
		}
	}
	for _, empty := range []string{"  \n", `""`, "Bearer ", "Authorization: Bearer"} {
		if code, out := explain(t, empty); code != exitUsage || !strings.Contains(out, "no token") {
			t.Errorf("%q: %d %q", empty, code, out)
		}
	}
	// What is not a token stays refused.
	if code, out := explain(t, "Basic dXNlcjpwYXNz"); code != exitFailure || !strings.Contains(out, string(entra.CodeTokenMalformed)) {
		t.Errorf("Basic credentials: %d\n%s", code, out)
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
	} else if !strings.Contains(out, "agent        not known (no Agent ID claims)") || !strings.Contains(out, "xms_act_fct") {
		t.Errorf("a token without Agent ID claims: explain does not say how to get them\n%s", out)
	}
	if code, out := explain(t, srv.AgentAppToken("Orders.Read.All"), args...); code != exitOK || !strings.Contains(out, "an Entra Agent ID agent ("+string(entra.AgentAutonomous)+")") {
		t.Errorf("an agent's token: %d\n%s", code, out)
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

// captureDefaultLog sends slog.Default (and the log package) to a buffer
// until the test ends.
func captureDefaultLog(t *testing.T) *syncWriter {
	t.Helper()
	var buf syncWriter
	old, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	})
	return &buf
}

// The report is alone on stdout; the validator's log goes to stderr with
// -v, and nowhere without.
func TestExplainKeepsLogsOutOfTheReport(t *testing.T) {
	srv := newAuthority(t)
	global := captureDefaultLog(t)
	args := []string{"explain", "-tenant", srv.TenantID, "-client-id", srv.ClientID, "-authority-host", srv.URL + "/"}
	code, stdout, stderr := runCmd(t, srv.UserToken("Orders.Read"), args...)
	if code != exitOK || !strings.Contains(stdout, "Result: ACCEPTED") {
		t.Fatalf("%d\n%s%s", code, stdout, stderr)
	}
	if stderr != "" || global.String() != "" {
		t.Errorf("without -v the validator logged: stderr %q, slog.Default %q", stderr, global.String())
	}
	if strings.Contains(stdout, "level=") || strings.Contains(stdout, "entra: ") {
		t.Errorf("a log line in the report:\n%s", stdout)
	}

	code, stdout, stderr = runCmd(t, srv.UserToken("Orders.Read"), append([]string{args[0], "-v"}, args[1:]...)...)
	if code != exitOK || !strings.Contains(stdout, "Result: ACCEPTED") {
		t.Fatalf("-v: %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "entra: signing keys loaded") {
		t.Errorf("-v: the validator's log is not on stderr: %q", stderr)
	}
	if strings.Contains(stdout, "entra: ") || global.String() != "" {
		t.Errorf("-v: the log went elsewhere: stdout %q, slog.Default %q", stdout, global.String())
	}
}

// A token whose issuer names another host than the authority is reported
// at once, with the flag that fixes it, and no request is made: the
// timeout would otherwise be waited for.
func TestExplainAuthorityMismatch(t *testing.T) {
	t.Setenv("ENTRA_AUTHORITY_HOST", "")
	t.Setenv("AZURE_AUTHORITY_HOST", "")
	srv := newAuthority(t)
	tok := srv.UserToken("Orders.Read") // issued by http://127.0.0.1:port/{tid}/v2.0
	cfg := []string{"-tenant", srv.TenantID, "-client-id", srv.ClientID}
	noWait := []string{"-timeout", "10m"} // a fetch would hang the test, not pass it

	code, out := explain(t, tok, append(cfg, noWait...)...)
	if code != exitFailure {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"FAIL  authority    " + string(entra.CodeIssuerInvalid),
		"names the host " + strings.TrimPrefix(srv.URL, "http://"),
		"https://login.microsoftonline.com (the default)",
		"fix: pass -authority-host " + srv.URL + "/",
		"validator    not run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, string(entra.CodeKeysUnavailable)) {
		t.Errorf("the keys were fetched:\n%s", out)
	}

	// The fix works, as a flag (either name) or as the environment the
	// emulator prints.
	for _, args := range [][]string{{"-authority-host", srv.URL + "/"}, {"-authority", srv.URL}} {
		if code, out := explain(t, tok, append(cfg, args...)...); code != exitOK || !strings.Contains(out, "Result: ACCEPTED") {
			t.Errorf("%v: %d\n%s", args, code, out)
		}
	}
	t.Setenv("AZURE_AUTHORITY_HOST", srv.URL+"/")
	if code, out := explain(t, tok, cfg...); code != exitOK || !strings.Contains(out, "Result: ACCEPTED") {
		t.Errorf("AZURE_AUTHORITY_HOST: %d\n%s", code, out)
	}

	// Entra ID's token against an emulator: the same, the other way.
	entraTok := srv.Mint(entratest.Token{Scopes: []string{"x"}, Claims: map[string]any{"iss": "https://login.microsoftonline.com/" + srv.TenantID + "/v2.0"}})
	code, out = explain(t, entraTok, cfg...)
	if code != exitFailure || !strings.Contains(out, "names the host login.microsoftonline.com") || !strings.Contains(out, "(AZURE_AUTHORITY_HOST)") || !strings.Contains(out, "or leave out AZURE_AUTHORITY_HOST") {
		t.Errorf("an Entra ID token against the emulator: %d\n%s", code, out)
	}
	t.Setenv("AZURE_AUTHORITY_HOST", "")

	// B2C and External ID need their metadata URL.
	b2c := srv.Mint(entratest.Token{Scopes: []string{"x"}, Claims: map[string]any{"iss": "https://contoso.b2clogin.com/" + srv.TenantID + "/v2.0/"}})
	if code, out := explain(t, b2c, append(cfg, noWait...)...); code != exitFailure || !strings.Contains(out, "fix: for Azure AD B2C or Entra External ID, pass -metadata-url") {
		t.Errorf("a B2C token: %d\n%s", code, out)
	}
	// v1.0 tokens name sts.windows.net whatever the authority: no verdict
	// before the metadata says.
	v1 := srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"Orders.Read"}})
	if code, out := explain(t, v1, append(cfg, "-authority-host", srv.URL+"/")...); code != exitOK || !strings.Contains(out, "Result: ACCEPTED") {
		t.Errorf("a v1.0 token: %d\n%s", code, out)
	}
}
