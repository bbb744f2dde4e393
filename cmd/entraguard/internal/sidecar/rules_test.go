package sidecar

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// TestRulesFileMistakes checks that every mistake is an error naming the
// line and the fix.
func TestRulesFileMistakes(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string // substrings of the error
	}{
		{"empty", ``, []string{"rules.yaml: the file is empty"}},
		{"not yaml", "rules: [\n", []string{"rules.yaml: not valid YAML"}},
		{"no rules", "realm: x\n", []string{"rules.yaml:1: no rules: list"}},
		{"empty rules", "rules: []\n", []string{"rules.yaml:1: rules is empty"}},
		{"unknown top-level", "rule:\n  - path: /\n    allow: public\n", []string{"rules.yaml:1: unknown top-level field \"rule\"", "did you mean rules?"}},
		{"unknown rule field", "rules:\n  - prefix: /api\n    allow: authenticated\n", []string{"rules.yaml:2: unknown field \"prefix\" in rule 1", "did you mean path_prefix?"}},
		{"bad method", "rules:\n  - path: /\n    methods: [FETCH]\n    allow: public\n", []string{"rules.yaml:3: unknown method \"FETCH\": use GET, HEAD"}},
		{"lower-case method", "rules:\n  - path: /\n    methods: [get]\n    allow: public\n", []string{"rules.yaml:3: method \"get\": write it in capitals, GET"}},
		{"unknown requirement", "rules:\n  - path: /\n    require:\n      scope: [Orders.Read]\n", []string{"rules.yaml:4: unknown requirement \"scope\"", "did you mean scopes?"}},
		{"scope as URI", "rules:\n  - path: /\n    require:\n      scopes: [api://orders/Orders.Read]\n", []string{"rules.yaml:4: scope \"api://orders/Orders.Read\" is written as a URI", "write Orders.Read"}},
		{"scope with a space", "rules:\n  - path: /\n    require:\n      scopes: \"Orders.Read Orders.Write\"\n", []string{"rules.yaml:4: scope \"Orders.Read Orders.Write\" holds a space"}},
		{"group by name", "rules:\n  - path: /\n    require:\n      groups: [Admins]\n", []string{"rules.yaml:4: groups: \"Admins\" is not a GUID", "object ID"}},
		{"auth context not cN", "rules:\n  - path: /\n    require:\n      auth_context: [mfa]\n", []string{"rules.yaml:4: auth_context: \"mfa\" is not an authentication context ID", "c1 … c99"}},
		{"acrs for auth_context", "rules:\n  - path: /\n    require:\n      acrs: [c1]\n", []string{"rules.yaml:4: unknown requirement \"acrs\"", "did you mean auth_context?"}},
		{"no decision", "rules:\n  - path: /api\n", []string{"rules.yaml:2: rule 1 says nothing about who may pass"}},
		{"allow and require", "rules:\n  - path: /api\n    allow: public\n    require: {roles: [Admin]}\n", []string{"rules.yaml:3: rule 1 has both allow: and require:"}},
		{"bad allow", "rules:\n  - path: /api\n    allow: everyone\n", []string{"rules.yaml:3: allow: \"everyone\": write allow: public"}},
		{"empty allow", "rules:\n  - path: /api\n    allow: \"\"\n", []string{"rules.yaml:3: allow: \"\": write allow: public"}},
		{"relative path", "rules:\n  - path: api\n    allow: public\n", []string{"rules.yaml:2: path \"api\" must start with /"}},
		{"unclean path", "rules:\n  - path_prefix: /api/../admin\n    allow: public\n", []string{"rules.yaml:2: path_prefix \"/api/../admin\" is not a clean path", `write it as "/admin"`}},
		{"wildcard in a prefix", "rules:\n  - path_prefix: /api/*\n    allow: public\n", []string{"rules.yaml:2: path_prefix \"/api/*\" holds a wildcard: use path_pattern"}},
		{"double star inside", "rules:\n  - path_pattern: /a/**/b\n    allow: public\n", []string{"rules.yaml:2: path_pattern \"/a/**/b\": ** matches the rest"}},
		{"host as URL", "rules:\n  - host: https://api.example.com\n    allow: public\n", []string{"rules.yaml:2: host \"https://api.example.com\": write the host name only"}},
		{"duplicate key", "rules:\n  - path: /a\n    path: /b\n    allow: public\n", []string{"rules.yaml:3: \"path\" is given twice (first at line 2)"}},
		{"deny_agents false", "rules:\n  - path: /\n    require: {deny_agents: false}\n", []string{"rules.yaml:3: deny_agents: false is the same as leaving it out"}},
		{"unknown agent kind", "rules:\n  - path: /\n    require: {agents: [robot]}\n", []string{"rules.yaml:3: agents: unknown kind \"robot\""}},
		{"scope_or_role half", "rules:\n  - path: /\n    require:\n      scope_or_role: {scopes: [Orders.Read]}\n", []string{"rules.yaml:4: scope_or_role: needs both scopes: and roles:"}},
		{"unknown identity field", "headers:\n  email_address: X-Email\nrules:\n  - path: /\n    allow: public\n", []string{"rules.yaml:2: unknown identity field \"email_address\""}},
		{"reserved header", "headers:\n  oid: Authorization\nrules:\n  - path: /\n    allow: public\n", []string{"rules.yaml:2: Authorization is an HTTP header with its own meaning"}},
		{"two documents", "rules:\n  - path: /\n    allow: public\n---\nrules: []\n", []string{"rules.yaml:4: a second YAML document"}},
		{"every mistake at once", "rules:\n  - path: /a\n    methods: [FETCH]\n    allow: public\n  - path: /b\n    require: {roles: [api://x/Admin]}\n", []string{"rules.yaml:3: unknown method", "rules.yaml:6: role \"api://x/Admin\" is written as a URI"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePolicy("rules.yaml", []byte(c.file))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRulesMatch(t *testing.T) {
	p, err := ParsePolicy("rules.yaml", []byte(`
rules:
  - host: "*.internal.example.com"
    allow: public
  - path: /healthz
    methods: GET
    allow: public
  - path_prefix: /static
    allow: public
  - path_pattern: /api/orders/{id}/items
    require: {scopes: [Orders.Read]}
  - path_pattern: /files/**
    allow: authenticated
  - path_prefix: /api/admin
    require: {roles: [Admin]}
  - path_prefix: /api/
    methods: [GET, POST]
    allow: authenticated
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host, method, path string
		want               int // rule number, 0: none
	}{
		{"a.internal.example.com", "DELETE", "/anything", 1},
		{"internal.example.com", "GET", "/healthz", 2},
		{"api.example.com", "GET", "/healthz", 2},
		{"api.example.com", "HEAD", "/healthz", 2}, // GET implies HEAD
		{"api.example.com", "POST", "/healthz", 0},
		{"api.example.com", "GET", "/healthz/", 0},
		{"api.example.com", "GET", "/static", 3},
		{"api.example.com", "GET", "/static/app.js", 3},
		{"api.example.com", "GET", "/staticfoo", 0}, // a prefix matches whole segments
		{"api.example.com", "GET", "/api/orders/42/items", 4},
		{"api.example.com", "GET", "/api/orders//items", 7},
		{"api.example.com", "GET", "/api/orders/42/items/9", 7},
		{"api.example.com", "GET", "/files/a/b/c", 5},
		{"api.example.com", "GET", "/files", 0},
		{"api.example.com", "GET", "/api/admin", 6},
		{"api.example.com", "PUT", "/api/admin/users", 6},
		{"api.example.com", "PUT", "/api/x", 0},
		{"api.example.com", "GET", "/api", 0},
	}
	for _, c := range cases {
		r := p.match(c.host, c.method, c.path)
		got := 0
		for i := range p.rules {
			if r == &p.rules[i] {
				got = i + 1
			}
		}
		if got != c.want {
			t.Errorf("%s %s%s: rule %d, want %d", c.method, c.host, c.path, got, c.want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/admin":             "/api/admin",
		"/healthz/../api/admin":  "/api/admin",
		"/api/%61dmin":           "/api/admin",
		"/api%2Fadmin":           "/api/admin",
		"//api///admin/":         "/api/admin/",
		"/api/./admin/.":         "/api/admin",
		"/static/%2e%2e/api/x":   "/api/x",
		"/a/b/../../../../etc/x": "/etc/x",
	} {
		if got, ok := cleanPath(in); !ok || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "api", "/a\\b", "/a%5Cb", "/a%00b", "/a%zz", "/a\x01"} {
		if got, ok := cleanPath(bad); ok {
			t.Errorf("cleanPath(%q) = %q, want refused", bad, got)
		}
	}
}

// TestCheckCommand runs `entraguard sidecar check FILE`.
func TestCheckCommand(t *testing.T) {
	good := writeFile(t, "good.yaml", contractRules)
	var out, errb bytes.Buffer
	if code := Main(t.Context(), []string{"check", good}, &out, &errb, func(string) string { return "" }); code != 0 {
		t.Fatalf("check of a good file: exit %d, %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "OK: 5 rules") || !strings.Contains(out.String(), "X-Entra-Object-Id") {
		t.Errorf("check output %q", out.String())
	}
	bad := writeFile(t, "bad.yaml", "rules:\n  - path: /\n    require: {role: [Admin]}\n")
	out.Reset()
	errb.Reset()
	if code := Main(t.Context(), []string{"check", bad}, &out, &errb, func(string) string { return "" }); code != 1 {
		t.Fatalf("check of a bad file: exit %d", code)
	}
	if !strings.Contains(errb.String(), "bad.yaml:3: unknown requirement \"role\"") {
		t.Errorf("check error %q", errb.String())
	}
	if code := Main(t.Context(), []string{"check"}, &out, &errb, func(string) string { return "" }); code != 2 {
		t.Errorf("check without a file: exit %d, want 2", code)
	}
}

// TestReload checks that a changed rules file is reloaded (on a trigger,
// as SIGHUP does, and when polling sees it change), and that an invalid
// new file keeps the rules in force and logs why.
func TestReload(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	file := writeFile(t, "rules.yaml", contractRules)
	trigger := make(chan struct{})
	var logs syncBuffer
	addr := startSidecarOptions(t, Options{Entra: srv.Config(), ConfigFile: file, Reload: trigger, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	admin := srv.AppToken("Admin")
	ask := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-Forwarded-Uri", "/api/admin")
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ask(); code != 200 {
		t.Fatalf("before reload: %d", code)
	}
	// The admin route now needs another role.
	if err := os.WriteFile(file, []byte(strings.Replace(contractRules, "roles: [Admin]", "roles: [SuperAdmin]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	trigger <- struct{}{}
	waitFor(t, func() bool { return ask() == 403 }, "the reloaded rules to refuse")

	// An invalid file keeps the rules in force.
	if err := os.WriteFile(file, []byte("rules:\n  - path: /api/admin\n    require: {role: [Admin]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trigger <- struct{}{}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "invalid") }, "the invalid file to be logged")
	if code := ask(); code != 403 {
		t.Errorf("after an invalid file: %d, want the previous rules' 403", code)
	}
	if l := logs.String(); !strings.Contains(l, `rules.yaml:3: unknown requirement \"role\"`) || !strings.Contains(l, "the rules in force stay") {
		t.Errorf("log does not say why: %s", l)
	}
}

// TestReloadOnChange checks the polling path: a change of the file's size
// or modification time is picked up, an unchanged file is not reloaded.
func TestReloadOnChange(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	file := writeFile(t, "rules.yaml", contractRules)
	p, err := LoadPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	s := New(v, p, nil)
	var logs syncBuffer
	rl := newReloader(file, s, slog.New(slog.NewJSONHandler(&logs, nil)))
	if rl.reload(false) {
		t.Fatal("an unchanged file was reloaded")
	}
	if err := os.WriteFile(file, []byte(contractRules+"  - path: /extra\n    allow: public\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !rl.reload(false) {
		t.Fatal("a changed file was not reloaded")
	}
	if n := len(s.Policy().rules); n != 6 {
		t.Errorf("%d rules after reload, want 6", n)
	}
	if !strings.Contains(logs.String(), "rules reloaded") {
		t.Errorf("reload not logged: %s", logs.String())
	}
}

// TestReloadMissingFile: a rules file that disappears keeps the rules in
// force and is reported once, not on every poll.
func TestReloadMissingFile(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	file := writeFile(t, "rules.yaml", contractRules)
	p, err := LoadPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	s := New(v, p, nil)
	var logs syncBuffer
	rl := newReloader(file, s, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if rl.reload(false) {
			t.Fatal("a missing file was loaded")
		}
	}
	if n := strings.Count(logs.String(), "rules file unreadable"); n != 1 {
		t.Errorf("%d log lines for one missing file, want 1:\n%s", n, logs.String())
	}
	if s.Policy() != p {
		t.Errorf("the rules in force changed")
	}
}
