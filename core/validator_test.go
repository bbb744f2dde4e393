package entra_test

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newValidator(t testing.TB, cfg entra.Config) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// ctxT is a test's context for calls expected to succeed or to fail on
// their own: it ends with the test, or after a minute, so that a bug fails
// the test instead of hanging it. Several calls share it, so it is far
// longer than they need on a loaded machine; no test relies on it ending.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func b64(v any) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		b, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// resign replaces a token's header or payload and keeps the old signature.
func splice(tok string, header, payload string) string {
	p := strings.Split(tok, ".")
	if header != "" {
		p[0] = header
	}
	if payload != "" {
		p[1] = payload
	}
	return strings.Join(p, ".")
}

func payloadOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidateTable(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	now := time.Now()
	v := newValidator(t, entra.Config{
		TenantID: srv.TenantID, ClientID: srv.ClientID, AuthorityHost: srv.URL + "/",
		HTTPClient: srv.Client(), Audiences: []string{"api://contoso-orders"}, CacheSize: -1,
	})
	ctx := ctxT(t)
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	good := srv.UserToken("Orders.Read")
	pub := v.Keys()[0].PublicKey.(*rsa.PublicKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	hsWithPublicKey := func(secret []byte) string {
		h := b64(map[string]any{"alg": "HS256", "typ": "JWT", "kid": srv.CurrentKeyID()})
		p := strings.Split(good, ".")[1]
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(h + "." + p))
		return h + "." + p + "." + b64(mac.Sum(nil))
	}
	other := entratest.NewServer() // another authority: same shapes, other keys and tenant
	defer other.Close()

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"v2 delegated token", good, nil},
		{"v2 app-only token", srv.AppToken("Orders.Read.All"), nil},
		{"v1 delegated token, api:// audience", srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"Orders.Read"}}), nil},
		{"v1 app-only token", srv.Mint(entratest.Token{Version: "1.0", App: true, Roles: []string{"Admin"}}), nil},
		{"App ID URI audience", srv.Mint(entratest.Token{Audience: "api://contoso-orders", Scopes: []string{"x"}}), nil},
		{"unknown audience", srv.Mint(entratest.Token{Audience: "api://someone-else", Scopes: []string{"x"}}), entra.ErrAudienceInvalid},
		{"Graph audience", srv.Mint(entratest.Token{Audience: "00000003-0000-0000-c000-000000000000", Scopes: []string{"User.Read"}}), entra.ErrAudienceInvalid},
		{"audience array with ours", srv.Mint(entratest.Token{Claims: map[string]any{"aud": []string{"x", srv.ClientID}}, Scopes: []string{"a"}}), nil},
		{"no audience", srv.Mint(entratest.Token{Claims: map[string]any{"aud": nil}}), entra.ErrAudienceInvalid},
		{"audience as object", srv.Mint(entratest.Token{Claims: map[string]any{"aud": map[string]any{"a": 1}}}), entra.ErrTokenMalformed},
		{"expired within skew", srv.Mint(entratest.Token{ExpiresAt: now.Add(-4 * time.Minute), IssuedAt: now.Add(-time.Hour), NotBefore: now.Add(-time.Hour)}), nil},
		{"expired beyond skew", srv.Mint(entratest.Token{ExpiresAt: now.Add(-6 * time.Minute), IssuedAt: now.Add(-time.Hour), NotBefore: now.Add(-time.Hour)}), entra.ErrTokenExpired},
		{"not yet valid within skew", srv.Mint(entratest.Token{NotBefore: now.Add(4 * time.Minute)}), nil},
		{"not yet valid beyond skew", srv.Mint(entratest.Token{NotBefore: now.Add(10 * time.Minute)}), entra.ErrTokenNotYetValid},
		{"exp before nbf, both within skew", srv.Mint(entratest.Token{IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(-time.Second)}), entra.ErrTokenExpired},
		{"missing exp", srv.Mint(entratest.Token{Claims: map[string]any{"exp": nil}}), entra.ErrClaimMissing},
		{"exp as string", srv.Mint(entratest.Token{Claims: map[string]any{"exp": "9999999999"}}), entra.ErrTokenMalformed},
		{"exp huge", srv.Mint(entratest.Token{Claims: map[string]any{"exp": 1e300}}), entra.ErrTokenMalformed},
		{"other tenant (single-tenant API)", srv.Mint(entratest.Token{TenantID: "6babcaad-604b-40ac-a9d7-9fd97c0b779f"}), entra.ErrIssuerInvalid},
		{"tid not matching issuer", srv.Mint(entratest.Token{Claims: map[string]any{"tid": "6babcaad-604b-40ac-a9d7-9fd97c0b779f"}}), entra.ErrTenantNotAllowed},
		{"tid not a GUID", srv.Mint(entratest.Token{Claims: map[string]any{"tid": "contoso"}}), entra.ErrTenantNotAllowed},
		{"missing tid", srv.Mint(entratest.Token{Claims: map[string]any{"tid": nil}}), entra.ErrClaimMissing},
		{"missing iss", srv.Mint(entratest.Token{Claims: map[string]any{"iss": nil}}), entra.ErrClaimMissing},
		{"foreign issuer", srv.Mint(entratest.Token{Claims: map[string]any{"iss": "https://evil.example/" + srv.TenantID + "/v2.0"}}), entra.ErrIssuerInvalid},
		{"alg none", splice(good, b64(map[string]any{"alg": "none", "typ": "JWT"}), "") + "", entra.ErrAlgorithmNotAllowed},
		{"alg none, no signature", strings.Join(strings.Split(splice(good, b64(map[string]any{"alg": "none"}), ""), ".")[:2], ".") + ".", entra.ErrAlgorithmNotAllowed},
		{"alg None", splice(good, b64(map[string]any{"alg": "None", "kid": srv.CurrentKeyID()}), ""), entra.ErrAlgorithmNotAllowed},
		{"alg rs256 lowercase", splice(good, b64(map[string]any{"alg": "rs256", "kid": srv.CurrentKeyID()}), ""), entra.ErrAlgorithmNotAllowed},
		{"no alg", splice(good, b64(map[string]any{"kid": srv.CurrentKeyID()}), ""), entra.ErrAlgorithmNotAllowed},
		{"HS256 with the public key (DER) as secret", hsWithPublicKey(pubDER), entra.ErrAlgorithmNotAllowed},
		{"HS256 with the modulus as secret", hsWithPublicKey(pub.N.Bytes()), entra.ErrAlgorithmNotAllowed},
		{"embedded jwk", srv.Mint(entratest.Token{Header: map[string]any{"jwk": map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}}}), entra.ErrTokenUnsupported},
		{"jku elsewhere", srv.Mint(entratest.Token{Header: map[string]any{"jku": "https://evil.example/keys"}}), entra.ErrTokenUnsupported},
		{"x5u elsewhere", srv.Mint(entratest.Token{Header: map[string]any{"x5u": "https://evil.example/cert"}}), entra.ErrTokenUnsupported},
		{"crit", srv.Mint(entratest.Token{Header: map[string]any{"crit": []string{"exp"}, "exp": 1}}), entra.ErrTokenUnsupported},
		{"nested JWT", srv.Mint(entratest.Token{Header: map[string]any{"cty": "JWT"}}), entra.ErrTokenUnsupported},
		{"Graph token (header nonce)", srv.Mint(entratest.Token{Header: map[string]any{"nonce": "abc"}}), entra.ErrFirstPartyToken},
		{"unknown kid", srv.Mint(entratest.Token{Header: map[string]any{"kid": "no-such-key"}}), entra.ErrUnknownKey},
		{"no kid", srv.Mint(entratest.Token{Header: map[string]any{"kid": nil}}), entra.ErrUnknownKey},
		{"kid path injection", srv.Mint(entratest.Token{Header: map[string]any{"kid": "../../../../etc/passwd"}}), entra.ErrUnknownKey},
		{"kid SQL-ish injection", srv.Mint(entratest.Token{Header: map[string]any{"kid": "' OR '1'='1"}}), entra.ErrUnknownKey},
		{"signed by another authority's key", other.Mint(entratest.Token{TenantID: srv.TenantID, Audience: srv.ClientID, Header: map[string]any{"kid": srv.CurrentKeyID()}}), entra.ErrSignatureInvalid},
		{"tampered payload", splice(good, "", b64(func() map[string]any { m := payloadOf(t, good); m["scp"] = "Orders.Write"; return m }())), entra.ErrSignatureInvalid},
		{"payload swap from another token", splice(good, "", strings.Split(srv.AppToken("Admin"), ".")[1]), entra.ErrSignatureInvalid},
		{"signature stripped", strings.Join(strings.Split(good, ".")[:2], ".") + ".", entra.ErrSignatureInvalid},
		{"signature truncated", good[:len(good)-10], entra.ErrSignatureInvalid},
		{"duplicate alg in header", splice(good, b64(`{"alg":"RS256","alg":"none","kid":"`+srv.CurrentKeyID()+`"}`), ""), entra.ErrTokenMalformed},
		{"duplicate claim, unsigned", splice(good, "", b64(`{"aud":"`+srv.ClientID+`","aud":"x"}`)), entra.ErrSignatureInvalid},
		{"duplicate claim, signed", srv.SignBytes(srv.CurrentKeyID(), []byte(`{"alg":"RS256","kid":"`+srv.CurrentKeyID()+`"}`),
			[]byte(`{"aud":"x","iss":"`+srv.Issuer("2.0", srv.TenantID)+`","tid":"`+srv.TenantID+`","exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`,"scp":"a","aud":"`+srv.ClientID+`"}`)), entra.ErrTokenMalformed},
		{"signed payload not JSON", srv.SignBytes(srv.CurrentKeyID(), []byte(`{"alg":"RS256","kid":"`+srv.CurrentKeyID()+`"}`), []byte(`hello`)), entra.ErrTokenMalformed},
		{"JWE-shaped (5 segments)", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", entra.ErrTokenUnsupported},
		{"two segments", strings.Join(strings.Split(good, ".")[:2], "."), entra.ErrTokenMalformed},
		{"four segments", good + ".x", entra.ErrTokenMalformed},
		{"padding", splice(good, strings.Split(good, ".")[0]+"=", ""), entra.ErrTokenMalformed},
		{"newline inside", good[:20] + "\n" + good[20:], entra.ErrTokenMalformed},
		{"space inside", good[:20] + " " + good[20:], entra.ErrTokenMalformed},
		{"header not JSON", splice(good, b64("not json"), ""), entra.ErrTokenMalformed},
		{"header JSON array", splice(good, b64(`["RS256"]`), ""), entra.ErrTokenMalformed},
		{"header invalid UTF-8", splice(good, b64([]byte("{\"alg\":\"RS256\",\"x\":\"\xff\"}")), ""), entra.ErrTokenMalformed},
		{"oversized", good + strings.Repeat("A", entra.DefaultMaxTokenSize), entra.ErrTokenMalformed},
		{"empty", "", entra.ErrTokenMissing},
		{"garbage", "hello", entra.ErrTokenMalformed},
		{"Bearer prefix left in", "Bearer " + good, entra.ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Validate(ctx, tc.token)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if c == nil || c.TenantID() == "" || c.ObjectID() == "" {
					t.Fatalf("Validate returned incomplete claims")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate: got %v (%v), want %v", entra.CodeOf(err), err, tc.wantErr.(*entra.Error).Code)
			}
			if c != nil {
				t.Fatalf("Validate returned claims with an error")
			}
			var e *entra.Error
			if !errors.As(err, &e) || e.Description == "" {
				t.Fatalf("error has no description: %#v", err)
			}
			if tc.token != "" && len(tc.token) > 40 && strings.Contains(e.Error(), tc.token[len(tc.token)-40:]) {
				t.Fatalf("error text contains the token's signature")
			}
		})
	}
}

func TestValidateClaims(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)

	c, err := v.Validate(ctx, srv.Mint(entratest.Token{
		Scopes: []string{"Orders.Read", "Orders.Write"}, Roles: []string{"Admin"},
		Groups: []string{"7b0c1c7e-0000-4000-8000-000000000001"},
		Claims: map[string]any{"xms_cc": []string{"cp1"}, "wids": []string{"62e90394-69f5-4237-9190-012177145e10"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Scopes(); len(got) != 2 || got[0] != "Orders.Read" || got[1] != "Orders.Write" {
		t.Errorf("Scopes = %q", got)
	}
	if !c.HasScope("Orders.Read") || c.HasScope("Orders") || c.HasScope("orders.read") {
		t.Errorf("HasScope is not exact")
	}
	if !c.HasRole("Admin") || c.HasRole("admin") {
		t.Errorf("HasRole is not exact")
	}
	if !c.InGroup("7b0c1c7e-0000-4000-8000-000000000001") || c.HasGroupsOverage() {
		t.Errorf("groups")
	}
	if !c.HasClientCapability("cp1") || !c.HasWID("62e90394-69f5-4237-9190-012177145e10") {
		t.Errorf("xms_cc / wids")
	}
	if c.IdentityType() != entra.IdentityUser || c.Version() != "2.0" || c.TenantID() != srv.TenantID {
		t.Errorf("identity %s version %s tenant %s", c.IdentityType(), c.Version(), c.TenantID())
	}
	if c.AppID() == "" || c.Username() == "" {
		t.Errorf("AppID / Username empty")
	}
	// Accessors return copies: changing them does not change the claims.
	s := c.Scopes()
	s[0] = "Admin.Everything"
	if !c.HasScope("Orders.Read") || c.HasScope("Admin.Everything") {
		t.Errorf("Scopes() exposed internal state")
	}
	raw := c.Raw()
	if raw["tid"] != srv.TenantID {
		t.Errorf("Raw()[tid] = %v", raw["tid"])
	}
	raw["tid"] = "x"
	if c.Raw()["tid"] != srv.TenantID {
		t.Errorf("Raw() exposed internal state")
	}

	app, err := v.Validate(ctx, srv.AppToken("Orders.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	if !app.IsApp() || app.IsUser() || app.IsGuest() || len(app.Scopes()) != 0 {
		t.Errorf("app token: identity %s", app.IdentityType())
	}
	v1, err := v.Validate(ctx, srv.Mint(entratest.Token{Version: "1.0", App: true, Roles: []string{"Admin"}, Claims: map[string]any{"idtyp": nil}}))
	if err != nil {
		t.Fatal(err)
	}
	if !v1.IsApp() || v1.AppID() == "" || v1.Version() != "1.0" {
		t.Errorf("v1 app token without idtyp: identity %s appid %q", v1.IdentityType(), v1.AppID())
	}
	// An ID token (no scp, no idtyp, pairwise sub) is a user's, not an app's.
	idt, err := v.Validate(ctx, srv.Mint(entratest.Token{Claims: map[string]any{"nonce": "n"}}))
	if err != nil {
		t.Fatal(err)
	}
	if idt.IdentityType() != entra.IdentityUser {
		t.Errorf("ID token: identity %s, want user", idt.IdentityType())
	}
	over, err := v.Validate(ctx, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"hasgroups": true}}))
	if err != nil {
		t.Fatal(err)
	}
	if !over.HasGroupsOverage() {
		t.Errorf("hasgroups not seen as overage")
	}
	over2, err := v.Validate(ctx, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{
		"_claim_names": map[string]any{"groups": "src1"}, "_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !over2.HasGroupsOverage() {
		t.Errorf("_claim_names.groups not seen as overage")
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		guest  bool
	}{
		{"member, no idp", nil, false},
		{"guest by acct", map[string]any{"acct": 1}, true},
		{"member by acct", map[string]any{"acct": 0}, false},
		{"guest by idp of another tenant", map[string]any{"idp": "https://sts.windows.net/6babcaad-604b-40ac-a9d7-9fd97c0b779f/"}, true},
		{"guest by personal account", map[string]any{"idp": "live.com"}, true},
		{"member, idp of own tenant", map[string]any{"idp": "https://sts.windows.net/" + srv.TenantID + "/"}, false},
	} {
		c, err := v.Validate(ctx, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: tc.claims}))
		if err != nil {
			t.Fatal(err)
		}
		if c.IsGuest() != tc.guest {
			t.Errorf("%s: IsGuest = %v", tc.name, c.IsGuest())
		}
	}
}

func TestMultiTenant(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	ctx := ctxT(t)
	tenantA := "6babcaad-604b-40ac-a9d7-9fd97c0b779f"
	tenantB := "9e3a1f50-1c8b-4b5f-9f3c-2a7d4c1e8b90"
	for _, tenant := range []string{entra.TenantOrganizations, entra.TenantCommon} {
		t.Run(tenant, func(t *testing.T) {
			v := newValidator(t, anyTenant(srv.MultiTenantConfig(tenant)))
			for _, ver := range []string{"1.0", "2.0"} {
				if _, err := v.Validate(ctx, srv.Mint(entratest.Token{Version: ver, TenantID: tenantA, Scopes: []string{"a"}})); err != nil {
					t.Errorf("v%s token of any tenant: %v", ver, err)
				}
			}
			// The issuer must carry the token's own tid.
			tok := srv.Mint(entratest.Token{TenantID: tenantA, Claims: map[string]any{"tid": tenantB}})
			if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrIssuerInvalid) {
				t.Errorf("tid substituted into another tenant's issuer: got %v", entra.CodeOf(err))
			}
			tok = srv.Mint(entratest.Token{TenantID: tenantA, Claims: map[string]any{"tid": nil}})
			if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrIssuerInvalid) {
				t.Errorf("no tid: got %v", entra.CodeOf(err))
			}
		})
	}
	cfg := srv.MultiTenantConfig(entra.TenantOrganizations)
	cfg.AllowedTenants = []string{tenantA}
	v := newValidator(t, cfg)
	if _, err := v.Validate(ctx, srv.Mint(entratest.Token{TenantID: tenantA})); err != nil {
		t.Errorf("allowed tenant: %v", err)
	}
	if _, err := v.Validate(ctx, srv.Mint(entratest.Token{TenantID: tenantB})); !errors.Is(err, entra.ErrTenantNotAllowed) {
		t.Errorf("tenant not allowed: got %v", entra.CodeOf(err))
	}
}

func TestTokenVersions(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.TokenVersions = []string{entra.Version2}
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	if _, err := v.Validate(ctx, srv.UserToken("a")); err != nil {
		t.Errorf("v2: %v", err)
	}
	if _, err := v.Validate(ctx, srv.Mint(entratest.Token{Version: "1.0"})); !errors.Is(err, entra.ErrTokenVersionNotAllowed) {
		t.Errorf("v1 with only v2 accepted: got %v", entra.CodeOf(err))
	}
}

func TestClockInjected(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	tok := srv.UserToken("a")
	exp := time.Unix(int64(payloadOf(t, tok)["exp"].(float64)), 0)
	at := exp.Add(entra.DefaultClockSkew + time.Second)
	cfg := srv.Config()
	cfg.Now = func() time.Time { return at }
	v := newValidator(t, cfg)
	if _, err := v.Validate(ctxT(t), tok); !errors.Is(err, entra.ErrTokenExpired) {
		t.Fatalf("got %v, want token_expired", entra.CodeOf(err))
	}
	cfg.ClockSkew = 10 * time.Second
	cfg.Now = func() time.Time { return exp.Add(5 * time.Second) }
	v2 := newValidator(t, cfg)
	if _, err := v2.Validate(ctxT(t), tok); err != nil {
		t.Fatalf("within a 10s skew: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  entra.Config
	}{
		{"empty tenant", entra.Config{ClientID: "c"}},
		{"empty client", entra.Config{TenantID: tenantA}},
		{"tenant with a slash", entra.Config{TenantID: "a/b", ClientID: "c"}},
		{"http authority", entra.Config{TenantID: tenantA, ClientID: "c", AuthorityHost: "http://login.example.com/"}},
		{"ftp authority", entra.Config{TenantID: tenantA, ClientID: "c", AuthorityHost: "ftp://login.example.com/"}},
		{"relative authority", entra.Config{TenantID: tenantA, ClientID: "c", AuthorityHost: "login.example.com"}},
		{"http metadata URL", entra.Config{TenantID: tenantA, ClientID: "c", MetadataURL: "http://b2c.example.com/x"}},
		{"negative skew", entra.Config{TenantID: tenantA, ClientID: "c", ClockSkew: -time.Second}},
		{"huge skew", entra.Config{TenantID: tenantA, ClientID: "c", ClockSkew: 2 * time.Hour}},
		{"alg none", entra.Config{TenantID: tenantA, ClientID: "c", Algorithms: []string{"none"}}},
		{"alg HS256", entra.Config{TenantID: tenantA, ClientID: "c", Algorithms: []string{"HS256"}}},
		{"bad version", entra.Config{TenantID: tenantA, ClientID: "c", TokenVersions: []string{"3.0"}}},
		{"allowed tenant not a GUID", entra.Config{TenantID: "organizations", ClientID: "c", AllowedTenants: []string{"contoso"}}},
		{"refresh too short", entra.Config{TenantID: tenantA, ClientID: "c", RefreshInterval: time.Second}},
		{"token size too small", entra.Config{TenantID: tenantA, ClientID: "c", MaxTokenSize: 10}},
		{"empty audience", entra.Config{TenantID: tenantA, ClientID: "c", Audiences: []string{" "}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := entra.NewValidator(tc.cfg)
			if v != nil {
				v.Close()
			}
			if !errors.Is(err, entra.ErrConfigInvalid) {
				t.Fatalf("got %v, want config_invalid", err)
			}
			if !strings.HasPrefix(err.Error(), "entra: Config.") {
				t.Errorf("message does not name the field: %q", err)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("AZURE_TENANT_ID", "organizations")
	t.Setenv("AZURE_CLIENT_ID", " api-client ")
	t.Setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/")
	t.Setenv("ENTRA_AUDIENCES", "api://a, https://b ,,")
	t.Setenv("ENTRA_ALLOWED_TENANTS", "6babcaad-604b-40ac-a9d7-9fd97c0b779f")
	cfg := entra.ConfigFromEnv()
	if cfg.TenantID != "organizations" || cfg.ClientID != "api-client" || cfg.AuthorityHost != "https://login.microsoftonline.us/" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	if len(cfg.Audiences) != 2 || cfg.Audiences[1] != "https://b" || len(cfg.AllowedTenants) != 1 {
		t.Errorf("lists: %q %q", cfg.Audiences, cfg.AllowedTenants)
	}
}

// TestLineBreaksInToken: a token with a line break anywhere (which a
// lenient base64 decoder would skip) is malformed, and says so, whatever
// else is wrong with its structure.
func TestLineBreaksInToken(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := newValidator(t, srv.Config())
	tok := srv.UserToken("Orders.Read")
	dot1, dot2 := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
	for name, bad := range map[string]string{
		"header":        tok[:2] + "\n" + tok[2:],
		"payload":       tok[:dot1+3] + "\r\n" + tok[dot1+3:],
		"signature":     tok[:dot2+3] + "\r" + tok[dot2+3:],
		"trailing":      tok + "\n",
		"five segments": tok + ".a\n.b",
		"empty payload": tok[:dot1+1] + "\n" + tok[dot2:],
		"one segment":   "abc\ndef",
	} {
		_, err := v.Validate(ctxT(t), bad)
		var e *entra.Error
		if !errors.Is(err, entra.ErrTokenMalformed) || !errors.As(err, &e) || !strings.Contains(e.Description, "outside base64url") {
			t.Errorf("%s: %v, want token_malformed saying the token has characters outside base64url", name, err)
		}
	}
	if _, err := v.Validate(ctxT(t), tok); err != nil {
		t.Fatalf("the token itself: %v", err)
	}
}

// TestMalformedTokensAllocateLittle: a token refused before its signature
// is checked (here a large one with a broken payload or signature, or
// alg none) allocates its error and little else, not a buffer the size of
// its payload.
func TestMalformedTokensAllocateLittle(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := newValidator(t, srv.Config())
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08x-1b2c-4d3e-8f40-%012x", i, i)
	}
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Groups: groups})
	dot1, dot2 := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
	ctx := ctxT(t)
	for name, bad := range map[string]string{
		"payload":   tok[:dot1+10] + "*" + tok[dot1+11:],
		"signature": tok[:dot2+10] + "*" + tok[dot2+11:],
		"alg none":  "eyJhbGciOiJub25lIn0" + tok[dot1:],
	} {
		if _, err := v.Validate(ctx, bad); err == nil {
			t.Fatalf("%s: accepted", name)
		}
		const runs = 1000
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			_, _ = v.Validate(ctx, bad)
		}
		runtime.ReadMemStats(&after)
		// Well under the token's size: about 0.5 KiB normally, a few KiB
		// under -race (whose sync.Pool drops a quarter of what is put
		// back), against about 10 KiB when the payload had its own buffer.
		if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > uint64(len(bad)/2) {
			t.Errorf("%s: %d bytes allocated per refusal of a %d-byte token, want under half the token's size", name, per, len(bad))
		}
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
