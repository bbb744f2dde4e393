package sidecar

import (
	"net/http"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestConformanceThroughProxies runs every case of the adapters' HTTP
// conformance table through real nginx and Caddy (and a Traefik-style Go
// proxy) in front of an upstream, with the sidecar deciding: status,
// WWW-Authenticate, Retry-After, Cache-Control and refusal bodies must be
// the library's, byte for byte.
func TestConformanceThroughProxies(t *testing.T) {
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
				rules := writeFile(t, "rules.yaml", contractRules)
				sc := startSidecar(t, srv, rules)
				up := startUpstream(t)
				return p.start(t, sc, up.URL, DefaultPolicy().HeaderNames())
			})
		})
	}
}

// TestIdentityHeadersReachUpstream checks that the caller's identity
// arrives upstream through each proxy, header-safe, and that identity
// headers a client sends itself never do.
func TestIdentityHeadersReachUpstream(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			rules := writeFile(t, "rules.yaml", contractRules)
			sc := startSidecar(t, srv, rules)
			up := startUpstream(t)
			base := p.start(t, sc, up.URL, DefaultPolicy().HeaderNames())

			get := func(path, token string, extra map[string]string) int {
				t.Helper()
				req, _ := http.NewRequest("GET", base+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				for k, v := range extra {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			spoof := map[string]string{"X-Entra-Object-Id": "spoofed", "X-Entra-Roles": "Admin", "X-Entra-Name": "spoofed"}

			user := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read", "Orders.Write"}, Name: "José \"Pepe\" Núñez\r\nX-Evil: 1", ObjectID: "11111111-2222-3333-4444-555555555555"})
			if code := get("/api/me", user, spoof); code != 200 {
				t.Fatalf("a user's valid token answered %d", code)
			}
			h := up.last(t)
			want := map[string]string{
				"X-Entra-Object-Id":     "11111111-2222-3333-4444-555555555555",
				"X-Entra-Tenant-Id":     srv.TenantID,
				"X-Entra-Identity-Type": "user",
				"X-Entra-Scopes":        "Orders.Read Orders.Write",
				"X-Entra-Roles":         "",
				"X-Entra-Name":          `Jos%C3%A9 "Pepe" N%C3%BA%C3%B1ez%0D%0AX-Evil: 1`,
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("upstream got %s = %q, want %q", k, got, v)
				}
				if len(h.Values(k)) > 1 {
					t.Errorf("upstream got %s %d times: %q", k, len(h.Values(k)), h.Values(k))
				}
			}
			if h.Get("X-Entra-App-Id") == "" {
				t.Errorf("upstream got no X-Entra-App-Id")
			}

			app := srv.AppToken("Admin")
			if code := get("/api/admin", app, spoof); code != 200 {
				t.Fatalf("an app with the role answered %d", code)
			}
			h = up.last(t)
			if h.Get("X-Entra-Identity-Type") != "app" || h.Get("X-Entra-Roles") != "Admin" || h.Get("X-Entra-Name") == "spoofed" || h.Get("X-Entra-Object-Id") == "spoofed" {
				t.Errorf("app identity upstream = %v", h)
			}

			// A public route: no identity, and the client's own headers are gone.
			if code := get("/healthz", "", spoof); code != 200 {
				t.Fatalf("public /healthz answered %d", code)
			}
			h = up.last(t)
			for k := range spoof {
				if v := h.Get(k); v != "" {
					t.Errorf("public route: the client's %s: %q reached the upstream", k, v)
				}
			}

			// Refused requests never reach the upstream.
			n := up.count()
			for _, c := range []struct {
				path, token string
				status      int
			}{{"/api/admin", user, 403}, {"/api/me", "", 401}, {"/api/unknown", user, 403}, {"/api/me", "garbage", 401}} {
				if code := get(c.path, c.token, spoof); code != c.status {
					t.Errorf("%s answered %d, want %d", c.path, code, c.status)
				}
			}
			if up.count() != n {
				t.Errorf("%d refused requests reached the upstream", up.count()-n)
			}
		})
	}
}

// TestHostRulesThroughProxies checks that each proxy tells the sidecar the
// host the client asked for, so that rules per host apply.
func TestHostRulesThroughProxies(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	rules := "rules:\n  - hosts: [\"status.example.com\"]\n    allow: public\n  - path_prefix: /\n    allow: authenticated\n"
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			sc := startSidecar(t, srv, writeFile(t, "rules.yaml", rules))
			up := startUpstream(t)
			base := p.start(t, sc, up.URL, DefaultPolicy().HeaderNames())
			for host, want := range map[string]int{"status.example.com": 200, "STATUS.example.com:8443": 200, "api.example.com": 401, "evil.status.example.com": 401} {
				req, _ := http.NewRequest("GET", base+"/page", nil)
				req.Host = host
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
				}
			}
		})
	}
}
