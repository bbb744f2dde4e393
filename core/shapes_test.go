package entra_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Tokens without oid (service-principal-less authentication) are refused
// with their own Code unless the API admits them.
func TestMissingObjectID(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	for name, tok := range map[string]string{
		"app":   srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, Claims: map[string]any{"oid": nil}}),
		"user":  srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"oid": nil}}),
		"v1":    srv.Mint(entratest.Token{Version: "1.0", App: true, Roles: []string{"R"}, Claims: map[string]any{"oid": nil}}),
		"empty": srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, Claims: map[string]any{"oid": ""}}),
	} {
		_, err := v.Validate(ctxT(t), tok)
		wantCode(t, err, entra.ErrOIDMissing)
		if r := entra.ResponseFor(context.Background(), err); r.Status != 401 {
			t.Errorf("%s: status %d", name, r.Status)
		}
	}
	allow := readyValidator(t, srv, func(c *entra.Config) { c.AllowMissingObjectID = true })
	mustValidate(t, allow, srv.Mint(entratest.Token{App: true, Roles: []string{"R"}, Claims: map[string]any{"oid": nil}}))
	// The audience is checked first: a token for another API says so.
	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Audience: "other", Claims: map[string]any{"oid": nil}}))
	wantCode(t, err, entra.ErrAudienceInvalid)
}

// A payload whose claim names differ only in letter case from a claim the
// validator decides on can be read two ways, and is refused as malformed.
func TestCaseVariantClaimsRefused(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	other := "00000000-0000-0000-0000-000000000001"
	for _, claim := range []map[string]any{
		{"TID": other}, {"Tid": srv.TenantID}, {"tıd": other}, // dotless i: .NET upper-cases it to I
		{"ISS": "https://evil/"}, {"Aud": "x"}, {"EXP": 1}, {"nBf": 1}, {"IAT": 1}, {"Sub": "x"},
		{"SCP": "Admin"}, {"ſcp": "Admin"}, // long s folds to s
		{"Roles": []string{"Admin"}}, {"IDTYP": "app"}, {"OID": other}, {"AppId": "x"}, {"AZP": "x"},
		{"VER": "1.0"}, {"TFP": "B2C_1_x"}, {"ACR": "1"}, {"Nonce": "n"}, {"IDP": "x"}, {"Groups": []string{"g"}},
		{"WIDS": []string{"w"}}, {"Acct": 1}, {"XMS_CC": []string{"cp1"}}, {"HasGroups": true}, {"UTI": "u"},
		{"XMS_PAR_APP_AZP": other}, {"Xms_Act_Fct": "11"}, {"xms_sub_FCT": "11"}, {"XMS_TNT_FCT": "3"}, {"XMS_IDREL": "7"},
		{"HTTP://schemas.microsoft.com/identity/claims/TenantId": other},
	} {
		tok := srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: claim})
		_, err := v.Validate(ctxT(t), tok)
		wantCode(t, err, entra.ErrTokenMalformed)
	}
	// Names that no decision reads may be in any case.
	for _, claim := range []map[string]any{{"Name": "x"}, {"PREFERRED_USERNAME": "x"}, {"Email": "x"}, {"AIO": "x"}, {"ſ": "x"}} {
		mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: claim}))
	}
}

// Without tid, the legacy tenant claim is read as Microsoft.IdentityModel
// reads it, and every tenant check applies to it; beside a tid it must
// name the same tenant.
func TestLegacyTenantClaim(t *testing.T) {
	const legacy = "http://schemas.microsoft.com/identity/claims/tenantid"
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	other := "00000000-0000-0000-0000-000000000001"

	c := mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tid": nil, legacy: strings.ToUpper(srv.TenantID)}}))
	if !strings.EqualFold(c.TenantID(), srv.TenantID) {
		t.Errorf("TenantID %q", c.TenantID())
	}
	mustValidate(t, v, srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{legacy: srv.TenantID}}))

	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tid": nil, legacy: other}}))
	wantCode(t, err, entra.ErrTenantNotAllowed)
	_, err = v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{legacy: other}}))
	wantCode(t, err, entra.ErrTokenMalformed)
	_, err = v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tid": "", legacy: srv.TenantID}}))
	wantCode(t, err, entra.ErrTokenMalformed)
	_, err = v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tid": nil, legacy: "contoso"}}))
	wantCode(t, err, entra.ErrTenantNotAllowed)

	// Multi-tenant: the legacy tenant fills the issuer template and meets
	// AllowedTenants.
	tenant := "11111111-2222-3333-4444-555555555555"
	mt := readyValidator(t, srv, func(c *entra.Config) {
		c.TenantID = entra.TenantOrganizations
		c.AllowedTenants = []string{tenant}
	})
	mustValidate(t, mt, srv.Mint(entratest.Token{TenantID: tenant, Scopes: []string{"S"}, Claims: map[string]any{"tid": nil, legacy: tenant}}))
	_, err = mt.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: other, Scopes: []string{"S"}, Claims: map[string]any{"tid": nil, legacy: other}}))
	wantCode(t, err, entra.ErrTenantNotAllowed)
	_, err = mt.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenant, Scopes: []string{"S"}, Claims: map[string]any{"tid": nil, legacy: other}}))
	if err == nil {
		t.Error("legacy tenant that is not the issuer's accepted")
	}
}

// ID tokens: with roles they pass the scp-or-roles policy, as
// Microsoft.Identity.Web's; but a payload nonce (which no Entra access
// token carries) is refused unless the API opted in to ID tokens.
func TestIDTokensAndPayloadNonce(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, nil)
	strict := entra.NewAuthenticator(v)
	optIn := entra.NewAuthenticator(v, entra.WithoutScopeOrRoleCheck())
	idToken := func(roles []string, nonce any) string {
		return srv.Mint(entratest.Token{Roles: roles, Claims: map[string]any{"nonce": nonce, "azp": nil, "aio": nil, "rh": nil, "uti": nil}})
	}
	check := func(a *entra.Authenticator, tok string, want entra.Code) {
		t.Helper()
		_, resp := a.Authenticate(context.Background(), bearerRequest(tok))
		switch {
		case want == "" && resp != nil:
			t.Errorf("refused with %s", resp.Err.Code)
		case want != "" && (resp == nil || resp.Err.Code != want):
			t.Errorf("answered %v, want %s", resp, want)
		}
	}
	check(strict, idToken([]string{"Admin"}, nil), "")                                      // roles, no nonce
	check(strict, idToken([]string{"Admin"}, "n-0S6_WzA2Mj"), entra.CodeIDTokenNotAccepted) // roles and a nonce
	check(strict, idToken([]string{"Admin"}, ""), entra.CodeIDTokenNotAccepted)             // an empty nonce is a nonce
	check(strict, idToken(nil, "n"), entra.CodeNoScopeOrRole)
	check(optIn, idToken([]string{"Admin"}, "n"), "")
	check(optIn, idToken(nil, "n"), "")
	// A nonce of the wrong type is malformed.
	_, err := v.Validate(ctxT(t), idToken(nil, 7))
	wantCode(t, err, entra.ErrTokenMalformed)
}

// No real Entra access token in the shared vectors carries a payload
// nonce; ID tokens do. This is what the nonce rule above rests on.
func TestRealAccessTokensHaveNoPayloadNonce(t *testing.T) {
	dir := vectorsDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "entra", "tokens", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	access, idTokens, withNonce := 0, 0, 0
	for _, m := range manifest {
		raw, err := os.ReadFile(filepath.Join(dir, m.File))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(strings.TrimSpace(string(raw)), ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			continue // edited tokens
		}
		var claims map[string]any
		if json.Unmarshal(payload, &claims) != nil {
			continue
		}
		_, nonce := claims["nonce"]
		switch {
		case strings.Contains(m.File, "_access_"):
			access++
			if nonce {
				t.Errorf("access token %s carries a payload nonce", filepath.Base(m.File))
			}
		case strings.Contains(m.File, "_idtoken_"):
			idTokens++
			if nonce {
				withNonce++
			}
		}
	}
	if access < 10 || withNonce == 0 {
		t.Errorf("%d access tokens, %d of %d ID tokens with a nonce: the vectors changed", access, withNonce, idTokens)
	}
}

// A validator built from a B2C user flow's MetadataURL accepts only tokens
// of that flow (tfp or acr, in any case) unless told otherwise.
func TestB2CUserFlow(t *testing.T) {
	srv := entratest.NewServer(entratest.WithoutX5C())
	defer srv.Close()
	b2c := entratest.NewB2C(srv)
	defer b2c.Close()
	v := newValidator(t, b2c.Config("B2C_1_signin"))
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	signin := b2c.Mint("B2C_1_signin", entratest.Token{Scopes: []string{"S"}})
	c := mustValidate(t, v, signin) // no tid, no oid: B2C's default shape
	if c.UserFlow() != "B2C_1_signin" || c.TenantID() != "" || c.ObjectID() != "" {
		t.Errorf("UserFlow %q, tid %q, oid %q", c.UserFlow(), c.TenantID(), c.ObjectID())
	}
	mustValidate(t, v, b2c.Mint("b2c_1_SIGNIN", entratest.Token{Scopes: []string{"S"}}))
	mustValidate(t, v, b2c.Mint("", entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tfp": nil, "acr": "b2c_1_signin"}}))
	for name, tok := range map[string]string{
		"another flow":           b2c.Mint("B2C_1_signup", entratest.Token{Scopes: []string{"S"}}),
		"another flow, acr form": b2c.Mint("", entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tfp": nil, "acr": "B2C_1_signup"}}),
		"no flow":                b2c.Mint("", entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"tfp": nil}}),
		"tfp and acr disagree":   b2c.Mint("B2C_1_signin", entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"acr": "B2C_1_signup"}}),
	} {
		_, err := v.Validate(ctxT(t), tok)
		if !errors.Is(err, entra.ErrUserFlowNotAllowed) {
			t.Errorf("%s: %v, want %s", name, err, entra.CodeUserFlowNotAllowed)
		}
	}

	// The ?p= form of the metadata URL names the flow too.
	cfg := b2c.Config("B2C_1_signin")
	cfg.MetadataURL = b2c.URL + "/" + b2c.Domain + "/v2.0/.well-known/openid-configuration?p=B2C_1_signin"
	pv := newValidator(t, cfg)
	mustValidate(t, pv, signin)
	_, err := pv.Validate(ctxT(t), b2c.Mint("B2C_1_signup", entratest.Token{Scopes: []string{"S"}}))
	wantCode(t, err, entra.ErrUserFlowNotAllowed)

	// Told otherwise: any flow, or a list.
	cfg = b2c.Config("B2C_1_signin")
	cfg.AnyB2CUserFlow = true
	mustValidate(t, newValidator(t, cfg), b2c.Mint("B2C_1_signup", entratest.Token{Scopes: []string{"S"}}))
	cfg = b2c.Config("B2C_1_signin")
	cfg.B2CUserFlows = []string{"B2C_1_signup", "B2C_1A_custom"}
	lv := newValidator(t, cfg)
	mustValidate(t, lv, b2c.Mint("B2C_1_signup", entratest.Token{Scopes: []string{"S"}}))
	mustValidate(t, lv, b2c.Mint("b2c_1a_CUSTOM", entratest.Token{Scopes: []string{"S"}}))
	_, err = lv.Validate(ctxT(t), signin)
	wantCode(t, err, entra.ErrUserFlowNotAllowed)

	for _, bad := range []entra.Config{
		func() entra.Config {
			c := b2c.Config("B2C_1_signin")
			c.AnyB2CUserFlow = true
			c.B2CUserFlows = []string{"B2C_1_x"}
			return c
		}(),
		func() entra.Config { c := b2c.Config("B2C_1_signin"); c.B2CUserFlows = []string{" "}; return c }(),
		func() entra.Config { c := b2c.Config("B2C_1_signin"); c.B2CUserFlows = []string{"signin"}; return c }(),
	} {
		_, err := entra.NewValidator(bad)
		wantCode(t, err, entra.ErrConfigInvalid)
	}
}

// A MetadataURL that names no user flow (a tenant's own document) checks
// no flow, and still requires oid.
func TestCustomMetadataWithoutUserFlow(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := readyValidator(t, srv, func(c *entra.Config) {
		c.MetadataURL = srv.URL + "/" + srv.TenantID + "/v2.0/.well-known/openid-configuration"
	})
	mustValidate(t, v, srv.UserToken("S"))
	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"S"}, Claims: map[string]any{"oid": nil}}))
	wantCode(t, err, entra.ErrOIDMissing)
}
