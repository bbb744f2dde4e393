package entra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// syncBuffer is a log sink that the validator's goroutines and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureDefaultLog points slog.Default at a buffer for the test's life.
// Tests that use it must not run in parallel.
func captureDefaultLog(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

func TestConfigFromEnvPrefersEntraNames(t *testing.T) {
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	t.Setenv("ENTRA_TENANT_ID", "6babcaad-604b-40ac-a9d7-9fd97c0b779f")
	t.Setenv("AZURE_TENANT_ID", "11111111-1111-4111-8111-111111111111")
	t.Setenv("ENTRA_CLIENT_ID", "22222222-2222-4222-8222-222222222222")
	t.Setenv("AZURE_CLIENT_ID", "33333333-3333-4333-8333-333333333333")
	t.Setenv("ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.us/")
	t.Setenv("AZURE_AUTHORITY_HOST", "https://login.chinacloudapi.cn/")
	c := entra.ConfigFromEnv()
	if c.TenantID != "6babcaad-604b-40ac-a9d7-9fd97c0b779f" || c.ClientID != "22222222-2222-4222-8222-222222222222" || c.AuthorityHost != "https://login.microsoftonline.us/" {
		t.Fatalf("ConfigFromEnv = %+v, want the ENTRA_ values", c)
	}
}

func TestConfigFromEnvFallsBackToAzureNames(t *testing.T) {
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	for _, n := range []string{"ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_AUTHORITY_HOST"} {
		t.Setenv(n, "")
	}
	t.Setenv("AZURE_TENANT_ID", "organizations")
	t.Setenv("ENTRA_ALLOWED_TENANTS", "*")
	t.Setenv("AZURE_CLIENT_ID", "33333333-3333-4333-8333-333333333333")
	t.Setenv("AZURE_AUTHORITY_HOST", "")
	c := entra.ConfigFromEnv()
	if c.TenantID != "organizations" || c.ClientID != "33333333-3333-4333-8333-333333333333" {
		t.Fatalf("ConfigFromEnv = %+v, want the AZURE_ fallbacks", c)
	}
	v, err := entra.NewValidator(c)
	if err != nil {
		t.Fatalf("NewValidator with AZURE_ names and no workload identity: %v", err)
	}
	v.Close()
}

// In a pod with AKS workload identity, AZURE_CLIENT_ID is the pod's managed
// identity: taking it as the API's audience would refuse every token, so
// set-up fails and names the variable to set.
func TestConfigFromEnvRefusesWorkloadIdentityValues(t *testing.T) {
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
	t.Setenv("ENTRA_TENANT_ID", "6babcaad-604b-40ac-a9d7-9fd97c0b779f")
	t.Setenv("ENTRA_CLIENT_ID", "")
	t.Setenv("ENTRA_AUTHORITY_HOST", "")
	t.Setenv("AZURE_TENANT_ID", "6babcaad-604b-40ac-a9d7-9fd97c0b779f")
	t.Setenv("AZURE_CLIENT_ID", "33333333-3333-4333-8333-333333333333")
	t.Setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/")
	_, err := entra.NewValidator(entra.ConfigFromEnv())
	if !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("NewValidator = %v, want ErrConfigInvalid", err)
	}
	for _, want := range []string{"ENTRA_CLIENT_ID", "ENTRA_AUTHORITY_HOST", "workload identity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "ENTRA_TENANT_ID") {
		t.Errorf("error %q names ENTRA_TENANT_ID, which is set", err)
	}

	// With the ENTRA_ names set, the workload identity's own variables are
	// left alone.
	t.Setenv("ENTRA_CLIENT_ID", "22222222-2222-4222-8222-222222222222")
	t.Setenv("ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com/")
	v, err := entra.NewValidator(entra.ConfigFromEnv())
	if err != nil {
		t.Fatalf("NewValidator with ENTRA_ names: %v", err)
	}
	v.Close()
}

// Mistakes the code can see are refused at set-up, each with its fix.
func TestSetupMistakesNameTheFix(t *testing.T) {
	const tenant, client = "6babcaad-604b-40ac-a9d7-9fd97c0b779f", "22222222-2222-4222-8222-222222222222"
	tests := []struct {
		name string
		cfg  entra.Config
		want []string
	}{
		{"ClientID given as an App ID URI", entra.Config{TenantID: tenant, ClientID: "api://" + client},
			[]string{"Config.ClientID", "application ID GUID", "Config.Audiences"}},
		{"ClientID given as an https App ID URI", entra.Config{TenantID: tenant, ClientID: "https://api.contoso.com"},
			[]string{"Config.ClientID", "Config.Audiences"}},
		{"AuthorityHost with the tenant in its path", entra.Config{TenantID: tenant, ClientID: client, AuthorityHost: "https://login.microsoftonline.com/" + tenant + "/v2.0"},
			[]string{"Config.AuthorityHost", "has a path", `"https://login.microsoftonline.com/"`, "TenantID"}},
		{"TenantID given as a URL", entra.Config{TenantID: "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", ClientID: client},
			[]string{"Config.TenantID", "is a URL", `"contoso.onmicrosoft.com"`, "AuthorityHost"}},
		{"B2C MetadataURL without TenantID", entra.Config{ClientID: client, MetadataURL: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration"},
			[]string{"Config.TenantID is empty", "MetadataURL", "B2C"}},
		{"MetadataURL without .well-known/openid-configuration", entra.Config{TenantID: tenant, ClientID: client, MetadataURL: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0"},
			[]string{"Config.MetadataURL", "/.well-known/openid-configuration", `"https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := entra.NewValidator(tc.cfg)
			if err == nil {
				v.Close()
				t.Fatal("NewValidator accepted the mistake")
			}
			if !errors.Is(err, entra.ErrConfigInvalid) {
				t.Fatalf("error %v, want ErrConfigInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %s", err, w)
				}
			}
		})
	}
}

// Guards named with the wrong kind of name panic at set-up, saying what
// the right name looks like.
func TestGuardNameMistakesPanic(t *testing.T) {
	tests := map[string]struct {
		fn   func()
		want string
	}{
		"scope as a full URI":      {func() { entra.RequireScope("api://orders/Orders.Read") }, `"Orders.Read"`},
		"two scopes in one string": {func() { entra.RequireAllScopes("Orders.Read Orders.Write") }, "one scope per argument"},
		"scope URI in ScopeOrAppRole": {func() {
			entra.RequireScopeOrAppRole([]string{"https://api.contoso.com/Orders.Read"}, []string{"Orders.Read.All"})
		}, `"Orders.Read"`},
		"group display name":              {func() { entra.RequireGroup("Sales Team") }, "GUID"},
		"a slash alone":                   {func() { entra.RequireScope("/") }, "names no scope"},
		"a URI ending in a slash":         {func() { entra.RequireScope("api://orders/") }, "names no scope"},
		"app given as an App ID URI":      {func() { entra.RequireApp("api://orders") }, "GUID"},
		"tenant given as a domain":        {func() { entra.RequireTenant("contoso.onmicrosoft.com") }, "GUID"},
		"tenant given as organizations":   {func() { entra.RequireTenant("organizations") }, "GUID"},
		"group ID with braces (Graph UI)": {func() { entra.RequireGroup("{6babcaad-604b-40ac-a9d7-9fd97c0b779f}") }, "GUID"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.HasPrefix(msg, "entra: ") || !strings.Contains(msg, tc.want) {
					t.Fatalf("panic = %v, want an entra: panic saying %s", r, tc.want)
				}
			}()
			tc.fn()
		})
	}
	// Right names still work.
	entra.RequireScope("Orders.Read", "Orders.Write")
	entra.RequireGroup("6BABCAAD-604b-40ac-a9d7-9fd97c0b779f")
}

// v1 tokens carry a custom App ID URI as registered; both spellings, with
// and without the trailing slash, are accepted for a configured URI.
func TestAudienceURIAcceptsTrailingSlashTwin(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	for _, configured := range []string{"https://api.contoso.com", "https://api.contoso.com/"} {
		cfg := srv.Config()
		cfg.Audiences = []string{configured}
		v := newValidator(t, cfg)
		for _, aud := range []string{"https://api.contoso.com", "https://api.contoso.com/"} {
			for _, ver := range []string{"1.0", "2.0"} {
				tok := srv.Mint(entratest.Token{Version: ver, Audience: aud, Scopes: []string{"Orders.Read"}})
				if _, err := v.Validate(ctxT(t), tok); err != nil {
					t.Errorf("configured %q, v%s token for %q: %v", configured, ver, aud, err)
				}
			}
		}
		tok := srv.Mint(entratest.Token{Audience: "https://api.contoso.com.evil/", Scopes: []string{"Orders.Read"}})
		if _, err := v.Validate(ctxT(t), tok); !errors.Is(err, entra.ErrAudienceInvalid) {
			t.Errorf("configured %q, look-alike audience: %v, want ErrAudienceInvalid", configured, err)
		}
	}
}

// Without Config.Logger, a validator whose key endpoint fails says so on
// slog.Default, truthfully (no keys were ever loaded), and later says when
// it recovered. Refusals, which are per request, are not logged there.
func TestDefaultLoggerReportsOutageAndRecovery(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusServiceUnavailable))
	cfg := srv.Config()
	cfg.Logger = nil
	v := newValidator(t, cfg)
	h := entra.Middleware(v)(http.HandlerFunc(okHandler))

	if rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: status %d, want 503", rec.Code)
	}
	srv.SetFault(entratest.EndpointJWKS, nil)
	// The background retry (backoff about a second) heals it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("Ready after the outage: %v", err)
	}
	if rec := get(t, h, "/", http.Header{"Authorization": {"Bearer not-a-token"}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("bad token: status %d, want 401", rec.Code)
	}
	out := logs.String()
	if !strings.Contains(out, "none were ever loaded") || !strings.Contains(out, "503") {
		t.Errorf("the cold failure was not logged truthfully:\n%s", out)
	}
	if strings.Contains(out, "keeping the last good keys") {
		t.Errorf("the log claims good keys that were never loaded:\n%s", out)
	}
	if !strings.Contains(out, "fetched again after a failure") {
		t.Errorf("the recovery was not logged:\n%s", out)
	}
	if strings.Contains(out, "request refused") {
		t.Errorf("a per-request line reached slog.Default:\n%s", out)
	}
}

// A discard logger turns logging off.
func TestDiscardLoggerIsSilent(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Times(1, entratest.Status(http.StatusServiceUnavailable)))
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.DiscardHandler)
	v := newValidator(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if out := logs.String(); strings.Contains(out, "entra:") {
		t.Errorf("slog.Default got lines with a discard Config.Logger:\n%s", out)
	}
}

// A guard mounted without the middleware in front of it refuses (500,
// saying nothing of the cause), and the mistake is logged once, naming the
// route, to the logger of the Validator of the middleware built last
// (slog.Default when that Validator has no Config.Logger).
func TestGuardWithoutMiddlewareIsLoggedOnce(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := entratest.NewServer()
	defer srv.Close()
	_ = entra.Middleware(newValidator(t, srv.Config())) // built, but mounted nowhere
	mux := http.NewServeMux()
	mux.Handle("GET /unguarded-orders/{id}", entra.RequireScope("Orders.Read").Middleware(http.HandlerFunc(okHandler)))
	tok := srv.UserToken("Orders.Read")
	for range 3 {
		rec := get(t, mux, "/unguarded-orders/7", http.Header{"Authorization": {"Bearer " + tok}})
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "did not pass through the authentication middleware"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "GET /unguarded-orders/{id}") {
		t.Errorf("the line does not name the route:\n%s", out)
	}
	if strings.Contains(out, tok) {
		t.Fatal("the token reached the log")
	}

	// Anonymous requests under WithOptionalToken passed through the middleware: not
	// a mistake, nothing logged.
	v := newValidator(t, srv.Config())
	mux2 := http.NewServeMux()
	mux2.Handle("GET /optional-orders", entra.Middleware(v, entra.WithOptionalToken())(entra.RequireScope("Orders.Read").Middleware(http.HandlerFunc(okHandler))))
	if rec := get(t, mux2, "/optional-orders", nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: status %d, want 401", rec.Code)
	}
	if strings.Contains(logs.String(), "/optional-orders") {
		t.Errorf("an anonymous request behind the middleware was reported as a mistake:\n%s", logs.String())
	}
}

// AuthenticateToken gives callers outside HTTP middleware (ogen security
// handlers, queue consumers) the middleware's decision, policy included.
func TestAuthenticateTokenAppliesThePolicy(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	a := entra.NewAuthenticator(v)
	noPerms := srv.Mint(entratest.Token{})

	if _, err := v.Validate(ctxT(t), noPerms); err != nil {
		t.Fatalf("Validate of a token without scp or roles: %v (Validate applies no policy)", err)
	}
	ctx, c, err := a.AuthenticateToken(ctxT(t), noPerms)
	if !errors.Is(err, entra.ErrNoScopeOrRole) || c != nil {
		t.Fatalf("AuthenticateToken without scp or roles = %v, %v; want ErrNoScopeOrRole", c, err)
	}
	if _, ok := entra.ClaimsFromContext(ctx); ok {
		t.Fatal("a refused token's context carries claims")
	}
	if resp := entra.ResponseFor(ctx, err); resp.Status != http.StatusUnauthorized {
		t.Fatalf("ResponseFor status %d, want 401", resp.Status)
	}
	if _, _, err := a.AuthenticateToken(ctxT(t), ""); !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatalf("empty token: %v, want ErrTokenMissing", err)
	}
	if _, _, err := a.AuthenticateToken(ctxT(t), "x.y.z"); !errors.Is(err, entra.ErrTokenMalformed) {
		t.Fatalf("malformed token: %v, want ErrTokenMalformed", err)
	}

	ctx, c, err = a.AuthenticateToken(ctxT(t), srv.UserToken("Orders.Read"))
	if err != nil || c == nil {
		t.Fatalf("AuthenticateToken: %v", err)
	}
	if got, ok := entra.ClaimsFromContext(ctx); !ok || got != c {
		t.Fatal("the context does not carry the claims")
	}
	if resp := entra.Authorize(ctx, entra.RequireScope("Orders.Read")); resp != nil {
		t.Fatalf("a guard after AuthenticateToken refused: %d", resp.Status)
	}

	// The same options as the middleware: WithoutScopeOrRoleCheck admits it.
	if _, _, err := entra.NewAuthenticator(v, entra.WithoutScopeOrRoleCheck()).AuthenticateToken(context.Background(), noPerms); err != nil {
		t.Fatalf("with WithoutScopeOrRoleCheck: %v", err)
	}
}

// testing.md's promise: the clock skew admits a token that expired a minute
// ago, and a token expired for longer than the skew is refused.
func TestExpiredTokenWithinAndPastTheSkew(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	now := time.Now()
	withinSkew := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Minute)})
	if _, err := v.Validate(ctxT(t), withinSkew); err != nil {
		t.Fatalf("a token expired a minute ago (within the 5-minute skew): %v", err)
	}
	expired := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-10 * time.Minute)})
	if _, err := v.Validate(ctxT(t), expired); !errors.Is(err, entra.ErrTokenExpired) {
		t.Fatalf("a token expired 10 minutes ago: %v, want ErrTokenExpired", err)
	}
}

// Every exported method of Claims, including those added later, is safe on
// a nil *Claims and reads as zero values.
func TestNilClaimsAreSafe(t *testing.T) {
	var c *entra.Claims
	typ := reflect.TypeOf(c)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		args := []reflect.Value{reflect.ValueOf(c)}
		for j := 1; j < m.Type.NumIn(); j++ {
			args = append(args, reflect.Zero(m.Type.In(j)))
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("(*Claims)(nil).%s panicked: %v", m.Name, r)
				}
			}()
			for _, out := range m.Func.Call(args) {
				if out.Kind() == reflect.Bool && out.Bool() && m.Name != "Get" {
					t.Errorf("(*Claims)(nil).%s = true, want false", m.Name)
				}
			}
		}()
	}
	if c.IsApp() || c.IsUser() || c.IdentityType() != "" || c.HasScope("") || len(c.Raw()) != 0 {
		t.Fatal("a nil *Claims does not read as zero values")
	}
	if b, err := json.Marshal(struct{ C *entra.Claims }{c}); err != nil || string(b) != `{"C":null}` {
		t.Fatalf("json of a nil *Claims: %s, %v", b, err)
	}
	// The guards refuse a nil *Claims rather than panicking.
	if err := entra.RequireScope("Orders.Read").Check(c); !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatalf("Check(nil) = %v, want ErrTokenMissing", err)
	}
}
