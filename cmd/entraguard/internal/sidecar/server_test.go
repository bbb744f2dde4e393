package sidecar

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, u string, header map[string][]string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// reference is the library middleware's answer to a request with auth.
func reference(t *testing.T, v *entra.Validator, auth []string) answer {
	t.Helper()
	h := entra.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	req, _ := http.NewRequest("GET", "/", nil)
	req.Header["Authorization"] = auth
	rec := &recorder{h: http.Header{}}
	h.ServeHTTP(rec, req)
	return answer{rec.status, rec.h, rec.body.String()}
}

type recorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func newValidator(t *testing.T, srv *entratest.Server) *entra.Validator {
	t.Helper()
	return newValidatorB(t, srv)
}

func newValidatorB(t testing.TB, srv *entratest.Server) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDefaultPolicy: without a rules file every path needs a valid token
// with scp or roles, and refusals are the middleware's, byte for byte.
func TestDefaultPolicy(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	base := "http://" + startSidecar(t, srv, "")
	v := newValidator(t, srv)
	for _, auth := range [][]string{nil, {"Bearer garbage"}, {"Bearer " + srv.Mint(entratest.Token{})}, {"Bearer a", "Bearer b"}} {
		for _, path := range []string{"/", "/anything/at/all"} {
			got := do(t, "GET", base+path, map[string][]string{"Authorization": auth, "X-Forwarded-Uri": {"/x"}}, nil)
			want := reference(t, v, auth)
			if got.status != want.status || got.body != want.body || got.header.Get("Www-Authenticate") != want.header.Get("Www-Authenticate") {
				t.Errorf("%s with %d Authorization: %d %q %s; middleware %d %q %s", path, len(auth), got.status, got.header.Get("Www-Authenticate"), got.body, want.status, want.header.Get("Www-Authenticate"), want.body)
			}
		}
	}
	ok := do(t, "GET", base+"/", map[string][]string{"Authorization": {"Bearer " + srv.AppToken("Anything")}}, nil)
	if ok.status != 200 || ok.header.Get("X-Entra-Identity-Type") != "app" || ok.header.Get("X-Entra-Roles") != "Anything" {
		t.Errorf("a valid app token: %d %v", ok.status, ok.header)
	}
	if h := do(t, "GET", base+"/healthz", nil, nil); h.status != 200 || h.body != `{"status":"ok"}` {
		t.Errorf("/healthz: %d %s", h.status, h.body)
	}
	if r := do(t, "GET", base+"/readyz", nil, nil); r.status != 200 {
		t.Errorf("/readyz with keys loaded: %d %s", r.status, r.body)
	}
}

func TestReadyzBeforeKeys(t *testing.T) {
	cold := entratest.NewServer()
	t.Cleanup(cold.Close)
	cold.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusServiceUnavailable))
	base := "http://" + startSidecar(t, cold, "")
	if r := do(t, "GET", base+"/readyz", nil, nil); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Errorf("/readyz without keys: %d %v", r.status, r.header)
	}
	if h := do(t, "GET", base+"/healthz", nil, nil); h.status != 200 {
		t.Errorf("/healthz without keys: %d (liveness must not depend on Entra)", h.status)
	}
}

// TestHostileForwardHeaders: a client that sends the proxy's headers
// itself, twice, or in a form servers read differently is refused, never
// let through under another rule.
func TestHostileForwardHeaders(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	base := "http://" + startSidecar(t, srv, writeFile(t, "rules.yaml", contractRules))
	user := []string{"Bearer " + srv.UserToken("Orders.Read")}
	cases := []struct {
		name   string
		header map[string][]string
		status int
		code   string
	}{
		{"repeated X-Forwarded-Uri", map[string][]string{"X-Forwarded-Uri": {"/healthz", "/api/admin"}}, 400, "invalid_request"},
		{"repeated X-Forwarded-Method", map[string][]string{"X-Forwarded-Uri": {"/healthz"}, "X-Forwarded-Method": {"GET", "POST"}}, 400, "invalid_request"},
		{"X-Forwarded-Uri and X-Original-URI disagree", map[string][]string{"X-Forwarded-Uri": {"/healthz"}, "X-Original-Uri": {"/api/admin"}}, 400, "invalid_request"},
		{"methods disagree", map[string][]string{"X-Forwarded-Uri": {"/healthz"}, "X-Forwarded-Method": {"GET"}, "X-Original-Method": {"DELETE"}}, 400, "invalid_request"},
		{"X-Original-URL against X-Forwarded-Uri", map[string][]string{"X-Original-Url": {"https://api.example.com/api/admin"}, "X-Forwarded-Uri": {"/healthz"}}, 400, "invalid_request"},
		{"X-Original-URL not absolute", map[string][]string{"X-Original-Url": {"/healthz"}}, 400, "invalid_request"},
		{"dot segments out of a public path", map[string][]string{"X-Forwarded-Uri": {"/healthz/../api/admin"}, "X-Forwarded-Method": {"GET"}}, 401, "token_missing"},
		{"encoded dot segments", map[string][]string{"X-Forwarded-Uri": {"/healthz/%2e%2e/api/admin"}, "X-Forwarded-Method": {"GET"}, "Authorization": user}, 403, "forbidden"},
		{"percent-encoded path", map[string][]string{"X-Forwarded-Uri": {"/api/%61dmin"}, "X-Forwarded-Method": {"GET"}, "Authorization": user}, 403, "forbidden"},
		{"backslash", map[string][]string{"X-Forwarded-Uri": {"/healthz\\..\\api\\admin"}}, 400, "invalid_request"},
		{"encoded NUL", map[string][]string{"X-Forwarded-Uri": {"/healthz%00"}}, 400, "invalid_request"},
		{"bad escape", map[string][]string{"X-Forwarded-Uri": {"/healthz%zz"}}, 400, "invalid_request"},
		{"lower-case method", map[string][]string{"X-Forwarded-Uri": {"/healthz"}, "X-Forwarded-Method": {"get"}}, 400, "invalid_request"},
		{"relative URI", map[string][]string{"X-Forwarded-Uri": {"healthz"}}, 400, "invalid_request"},
		{"unmatched path with a valid token", map[string][]string{"X-Forwarded-Uri": {"/api/secret"}, "X-Forwarded-Method": {"GET"}, "Authorization": user}, 403, "forbidden"},
		{"unmatched method", map[string][]string{"X-Forwarded-Uri": {"/healthz"}, "X-Forwarded-Method": {"DELETE"}}, 401, "token_missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, "GET", base+"/", c.header, nil)
			var body struct{ Code string }
			_ = json.Unmarshal([]byte(a.body), &body)
			if a.status != c.status || body.Code != c.code {
				t.Errorf("%d %s, want %d with code %s", a.status, a.body, c.status, c.code)
			}
			if a.header.Get("X-Entra-Object-Id") != "" {
				t.Errorf("a refusal carries identity headers")
			}
		})
	}
	// The public path itself, reached cleanly, passes.
	if a := do(t, "GET", base+"/", map[string][]string{"X-Forwarded-Uri": {"/healthz?x=1"}, "X-Forwarded-Method": {"GET"}}, nil); a.status != 200 {
		t.Errorf("clean /healthz: %d %s", a.status, a.body)
	}
}

// TestHugeAndSlowRequests: header blocks over the bound are refused
// without being read whole, and a client too slow to send its headers is
// disconnected while others are served.
func TestHugeAndSlowRequests(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	// HeaderTimeout: short enough to wait out the slow client, long enough
	// that the other requests' headers arrive in time on a loaded machine.
	addr := startSidecarOptions(t, Options{Entra: srv.Config(), MaxHeaderBytes: 8 << 10, HeaderTimeout: 2 * time.Second})
	base := "http://" + addr
	big := strings.Repeat("a", 16<<10)
	if a := do(t, "GET", base+"/", map[string][]string{"Authorization": {"Bearer " + big}}, nil); a.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 16 KiB header: %d, want 431", a.status)
	}
	many := make([]string, 2000)
	for i := range many {
		many[i] = "x"
	}
	if a := do(t, "GET", base+"/", map[string][]string{"X-Repeated": many}, nil); a.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("2000 repeated headers: %d, want 431", a.status)
	}

	// A slow client: it sends part of its headers, then nothing.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	// Others are served meanwhile.
	if a := do(t, "GET", base+"/healthz", nil, nil); a.status != 200 {
		t.Errorf("/healthz while a client is slow: %d", a.status)
	}
	// The server closes the slow connection (the deadline only bounds a failure).
	_ = slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(slow)
	if _, err := io.ReadAll(r); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the slow client was never disconnected")
		}
	}
}

func TestIntrospection(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	base := "http://" + startSidecar(t, srv, "")
	user := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read", "Orders.Write"}, ObjectID: "11111111-2222-3333-4444-555555555555"})
	expired := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: time.Now().Add(-3 * time.Hour), NotBefore: time.Now().Add(-3 * time.Hour), ExpiresAt: time.Now().Add(-2 * time.Hour)})
	form := map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}}
	js := map[string][]string{"Content-Type": {"application/json"}}

	t.Run("RFC 7662 form, active", func(t *testing.T) {
		a := do(t, "POST", base+PathIntrospect, form, strings.NewReader(url.Values{"token": {user}, "token_type_hint": {"access_token"}}.Encode()))
		var got map[string]any
		if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if got["active"] != true || got["scope"] != "Orders.Read Orders.Write" || got["oid"] != "11111111-2222-3333-4444-555555555555" || got["client_id"] == nil || got["exp"] == nil || got["token_type"] != "Bearer" {
			t.Errorf("answer %v", got)
		}
		if a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
		}
	})
	t.Run("RFC 7662 JSON, active", func(t *testing.T) {
		a := do(t, "POST", base+PathIntrospect, js, strings.NewReader(`{"token":"`+user+`"}`))
		if a.status != 200 || !strings.Contains(a.body, `"active":true`) {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
	for name, tok := range map[string]string{"expired": expired, "garbage": "x.y.z", "empty": "", "ID token": srv.Mint(entratest.Token{Roles: []string{"Admin"}, Claims: map[string]any{"nonce": "n"}})} {
		t.Run("RFC 7662 inactive: "+name, func(t *testing.T) {
			a := do(t, "POST", base+PathIntrospect, form, strings.NewReader(url.Values{"token": {tok}}.Encode()))
			if a.status != 200 || a.body != `{"active":false}` {
				t.Errorf("%d %s, want exactly {\"active\":false}", a.status, a.body)
			}
		})
	}
	t.Run("RFC 7662 bad requests", func(t *testing.T) {
		if a := do(t, "GET", base+PathIntrospect, nil, nil); a.status != 405 || a.header.Get("Allow") != "POST" {
			t.Errorf("GET: %d %v", a.status, a.header)
		}
		if a := do(t, "POST", base+PathIntrospect, js, strings.NewReader(`{"token":`)); a.status != 400 {
			t.Errorf("bad JSON: %d", a.status)
		}
		if a := do(t, "POST", base+PathIntrospect, map[string][]string{"Content-Type": {"text/plain"}}, strings.NewReader(`x`)); a.status != 415 {
			t.Errorf("text/plain: %d", a.status)
		}
		if a := do(t, "POST", base+PathIntrospect, form, strings.NewReader("token="+strings.Repeat("a", 70<<10))); a.status != 413 {
			t.Errorf("70 KiB body: %d", a.status)
		}
		if a := do(t, "POST", base+PathIntrospect, form, strings.NewReader("token=a&token=b")); a.status != 400 {
			t.Errorf("two tokens: %d", a.status)
		}
	})
	t.Run("NAIS", func(t *testing.T) {
		a := do(t, "POST", base+PathNAIS, js, strings.NewReader(`{"identity_provider":"entra_id","token":"`+user+`"}`))
		var got map[string]any
		_ = json.Unmarshal([]byte(a.body), &got)
		if a.status != 200 || got["active"] != true || got["oid"] != "11111111-2222-3333-4444-555555555555" {
			t.Errorf("active: %d %s", a.status, a.body)
		}
		a = do(t, "POST", base+PathNAIS, js, strings.NewReader(`{"identity_provider":"entra_id","token":"`+expired+`"}`))
		got = nil
		_ = json.Unmarshal([]byte(a.body), &got)
		if a.status != 200 || got["active"] != false || !strings.Contains(got["error"].(string), "expired") {
			t.Errorf("expired: %d %s", a.status, a.body)
		}
		a = do(t, "POST", base+PathNAIS, js, strings.NewReader(`{"identity_provider":"idporten","token":"`+user+`"}`))
		if !strings.Contains(a.body, `"active":false`) || !strings.Contains(a.body, "unsupported identity_provider") {
			t.Errorf("another provider: %s", a.body)
		}
	})
	t.Run("Validate", func(t *testing.T) {
		a := do(t, "GET", base+PathValidate, map[string][]string{"Authorization": {"Bearer " + user}}, nil)
		var got struct {
			Protocol string         `json:"protocol"`
			Token    string         `json:"token"`
			Claims   map[string]any `json:"claims"`
		}
		if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if got.Protocol != "Bearer" || got.Token != user || got.Claims["oid"] != "11111111-2222-3333-4444-555555555555" || got.Claims["scp"] != "Orders.Read Orders.Write" {
			t.Errorf("answer %+v", got)
		}
		// The scheme in any case and a tab before the token, as the
		// library accepts them: the token alone comes back.
		a = do(t, "GET", base+PathValidate, map[string][]string{"Authorization": {"bearer\t" + user}}, nil)
		got.Token = ""
		if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 200 || got.Token != user {
			t.Errorf("Authorization \"bearer<TAB>token\": %d, token %.20q...", a.status, got.Token)
		}
		v := newValidator(t, srv)
		for _, auth := range [][]string{nil, {"Bearer " + expired}} {
			a := do(t, "GET", base+PathValidate, map[string][]string{"Authorization": auth}, nil)
			w := reference(t, v, auth)
			if a.status != w.status || a.body != w.body || a.header.Get("Www-Authenticate") != w.header.Get("Www-Authenticate") {
				t.Errorf("refusal %d %s, middleware %d %s", a.status, a.body, w.status, w.body)
			}
		}
		if a := do(t, "POST", base+PathValidate, nil, nil); a.status != 405 {
			t.Errorf("POST /Validate: %d", a.status)
		}
	})
}

// TestNginxPhases: nginx's subrequest gets a bare 401 for every refusal;
// the error_page requests get the full answer, and never a 200 that would
// reach the client without the upstream.
func TestNginxPhases(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	base := "http://" + startSidecar(t, srv, writeFile(t, "rules.yaml", contractRules))
	admin := []string{"Bearer " + srv.AppToken("Admin")}
	user := []string{"Bearer " + srv.UserToken("Orders.Read")}
	h := func(phase string, auth []string, uri string) map[string][]string {
		return map[string][]string{"X-Entraguard-Nginx": {phase}, "Authorization": auth, "X-Forwarded-Uri": {uri}, "X-Forwarded-Method": {"GET"}}
	}
	cases := []struct {
		name   string
		header map[string][]string
		status int
		code   string
	}{
		{"auth: refused with 403 becomes a bare 401", h("auth", user, "/api/admin"), 401, ""},
		{"auth: unavailable keys would be 503: a bare 401", h("auth", []string{"Bearer a", "Bearer b"}, "/api/me"), 401, ""},
		{"auth: allowed", h("auth", admin, "/api/admin"), 200, ""},
		{"refusal: the full answer", h("refusal", user, "/api/admin"), 403, "forbidden"},
		{"refusal: allowed meanwhile is never a 200", h("refusal", admin, "/api/admin"), 503, "keys_unavailable"},
		{"bad-request: the library's 400", h("bad-request", []string{"Bearer a", "Bearer b"}, "/api/me"), 400, "invalid_request"},
		{"bad-request: otherwise refused stays 400", h("bad-request", nil, "/api/me"), 400, "invalid_request"},
		{"bad-request: allowed stays 400", h("bad-request", admin, "/api/admin"), 400, "invalid_request"},
	}
	for _, c := range cases {
		a := do(t, "GET", base+"/", c.header, nil)
		var body struct{ Code string }
		_ = json.Unmarshal([]byte(a.body), &body)
		if a.status != c.status || body.Code != c.code {
			t.Errorf("%s: %d %s, want %d %q", c.name, a.status, a.body, c.status, c.code)
		}
	}
}
