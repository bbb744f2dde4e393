package entra_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// anyTenant returns cfg, a multi-tenant configuration, accepting any tenant.
func anyTenant(cfg entra.Config) entra.Config {
	cfg.AnyTenant = true
	return cfg
}

// A TenantID that cannot name a directory is refused at set-up, naming
// TenantID and the form to use, instead of failing later as HTTP 400 from
// the authority.
func TestTenantIDFormCheckedAtSetup(t *testing.T) {
	const client = "22222222-2222-4222-8222-222222222222"
	bad := map[string][]string{
		"{6babcaad-604b-40ac-a9d7-9fd97c0b779f}": {"in braces", `"6babcaad-604b-40ac-a9d7-9fd97c0b779f"`},
		"6babcaad604b40aca9d79fd97c0b779f":       {"without its hyphens", `"6babcaad-604b-40ac-a9d7-9fd97c0b779f"`},
		"6babcaad-604b-40ac-a9d7-9fd97c0b779":    {"is not a GUID", "8-4-4-4-12", "35 characters"},
		"6babcaad-604b-40ac-a9d7-9fd97c0b779ff":  {"is not a GUID", "37 characters"},
		"contoso":                                {"neither a tenant ID nor a domain", "contoso.onmicrosoft.com", `"organizations"`},
		"contoso-tenant-guid":                    {"neither a tenant ID nor a domain"},
		"contoso..com":                           {"not a domain name"},
		"-contoso.com":                           {"not a domain name"},
		"127.0.0.1":                              {"not a domain name"},
		"contoso_corp.com":                       {"not a domain name"},
		"contoso.com.":                           {"not a domain name"},
	}
	for tenant, want := range bad {
		t.Run(tenant, func(t *testing.T) {
			v, err := entra.NewValidator(entra.Config{TenantID: tenant, ClientID: client})
			if err == nil {
				v.Close()
				t.Fatal("NewValidator accepted the TenantID")
			}
			if !errors.Is(err, entra.ErrConfigInvalid) {
				t.Fatalf("error %v, want ErrConfigInvalid", err)
			}
			for _, w := range append([]string{"Config.TenantID"}, want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %s", err, w)
				}
			}
		})
	}

	srv := entratest.NewServer()
	defer srv.Close()
	good := []string{
		"6babcaad-604b-40ac-a9d7-9fd97c0b779f",
		"6BABCAAD-604B-40AC-A9D7-9FD97C0B779F",
		"contoso.onmicrosoft.com",
		"contoso.com",
		"login.contoso.co.uk",
		"consumers",
		"Organizations",
		"common",
	}
	for _, tenant := range good {
		t.Run(tenant, func(t *testing.T) {
			cfg := srv.Config()
			cfg.TenantID = tenant
			cfg.AllowedTenants = []string{srv.TenantID}
			cfg.Logger = slog.New(slog.DiscardHandler)
			v, err := entra.NewValidator(cfg)
			if err != nil {
				t.Fatalf("NewValidator refused TenantID %q: %v", tenant, err)
			}
			v.Close()
		})
	}
}

// GUIDs are case-insensitive: a ClientID, or a GUID in Audiences, written
// in upper case accepts the tokens Entra issues (lower case), and a token
// whose GUID audience is in upper case is accepted too. Other audiences
// stay exact, and one that differs only in case says so.
func TestGUIDAudienceConfigInAnyCase(t *testing.T) {
	const other = "3f1e2d4c-5b6a-4789-8abc-def012345678"
	srv := entratest.NewServer(entratest.WithClientID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"))
	defer srv.Close()
	cfg := srv.Config()
	cfg.ClientID = strings.ToUpper(srv.ClientID)
	cfg.Audiences = []string{strings.ToUpper(other), "api://Contoso-Orders"}
	v := newValidator(t, cfg)

	accepted := map[string]entratest.Token{
		"v2 token, ClientID in upper case":          {},
		"v1 token, api://ClientID":                  {Version: entra.Version1},
		"GUID of Audiences written in another case": {Audience: other},
	}
	for name, tok := range accepted {
		if _, err := v.Validate(ctxT(t), srv.Mint(tok)); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}

	refused := map[string]struct {
		aud  string
		want string
	}{
		"another GUID": {"3f1e2d4c-5b6a-4789-8abc-def012345679", "not accepted"},
		// Entra issues GUID audiences in lower case; a token is compared
		// exactly (as golang-jwt, the differential oracle, compares it).
		"token audience in upper case":            {strings.ToUpper(srv.ClientID), "Entra issues them in lower case"},
		"api:// in upper case with an upper GUID": {"API://" + strings.ToUpper(srv.ClientID), "only in letter case"},
		"URI differing in case":                   {"api://contoso-orders", "only in letter case"},
		"GUID with a Kelvin sign":                 {"api://" + strings.Replace(srv.ClientID, "a", "\u212a", 1), "not accepted"},
		"ClientID with a different tail":          {srv.ClientID + "x", "not accepted"},
	}
	for name, tc := range refused {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Audience: tc.aud}))
		if !errors.Is(err, entra.ErrAudienceInvalid) {
			t.Errorf("%s: got %v, want an audience refusal", name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", name, err, tc.want)
		}
	}
}

// A multi-tenant validator accepts every Entra tenant in the world unless
// told otherwise: NewValidator makes that an explicit choice, AllowedTenants
// or AnyTenant, and says how to make it.
func TestMultiTenantNeedsAllowedTenantsOrAnyTenant(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	const tenantC = "9e3a1f50-1c8b-4b5f-9f3c-2a7d4c1e8b90"
	for _, tenant := range []string{entra.TenantOrganizations, entra.TenantCommon, "Organizations"} {
		_, err := entra.NewValidator(srv.MultiTenantConfig(tenant))
		if !errors.Is(err, entra.ErrConfigInvalid) {
			t.Fatalf("%s without AllowedTenants or AnyTenant: got %v, want a config error", tenant, err)
		}
		for _, w := range []string{"Config.TenantID", "every Entra tenant", "Config.AllowedTenants", "Config.AnyTenant", "ENTRA_ALLOWED_TENANTS=*"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %s", err, w)
			}
		}
	}

	mistakes := map[string]struct {
		edit func(*entra.Config)
		want []string
	}{
		"both set":                     {func(c *entra.Config) { c.AnyTenant, c.AllowedTenants = true, []string{tenantA} }, []string{"Config.AnyTenant and Config.AllowedTenants are both set"}},
		"* in AllowedTenants":          {func(c *entra.Config) { c.AllowedTenants = []string{"*"} }, []string{"Config.AllowedTenants", "set Config.AnyTenant"}},
		"AnyTenant of a single tenant": {func(c *entra.Config) { c.TenantID, c.AnyTenant = tenantA, true }, []string{"Config.AnyTenant is set", "single tenant"}},
	}
	for name, tc := range mistakes {
		cfg := srv.MultiTenantConfig(entra.TenantOrganizations)
		tc.edit(&cfg)
		v, err := entra.NewValidator(cfg)
		if err == nil {
			v.Close()
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %s", name, err, w)
			}
		}
	}

	// AnyTenant accepts any tenant; AllowedTenants only those listed.
	anyV := newValidator(t, anyTenant(srv.MultiTenantConfig(entra.TenantCommon)))
	listed := srv.MultiTenantConfig(entra.TenantOrganizations)
	listed.AllowedTenants = []string{tenantA}
	listedV := newValidator(t, listed)
	for _, tid := range []string{tenantA, tenantC} {
		tok := srv.Mint(entratest.Token{TenantID: tid, Scopes: []string{"a"}})
		if _, err := anyV.Validate(ctxT(t), tok); err != nil {
			t.Errorf("AnyTenant refused tenant %s: %v", tid, err)
		}
		_, err := listedV.Validate(ctxT(t), tok)
		if tid == tenantA && err != nil {
			t.Errorf("AllowedTenants refused its tenant: %v", err)
		}
		if tid == tenantC && !errors.Is(err, entra.ErrTenantNotAllowed) {
			t.Errorf("AllowedTenants: tenant not listed got %v, want %v", err, entra.ErrTenantNotAllowed)
		}
	}
}

// ENTRA_ALLOWED_TENANTS=* is AnyTenant; mixed with tenant IDs it is refused.
func TestConfigFromEnvAnyTenant(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	t.Setenv("ENTRA_TENANT_ID", "organizations")
	t.Setenv("ENTRA_CLIENT_ID", srv.ClientID)
	t.Setenv("ENTRA_AUTHORITY_HOST", srv.URL+"/")

	t.Setenv("ENTRA_ALLOWED_TENANTS", " * ")
	cfg := entra.ConfigFromEnv()
	if !cfg.AnyTenant || cfg.AllowedTenants != nil {
		t.Fatalf("ENTRA_ALLOWED_TENANTS=*: AnyTenant %v, AllowedTenants %q; want true, none", cfg.AnyTenant, cfg.AllowedTenants)
	}
	cfg.HTTPClient = srv.Client()
	v := newValidator(t, cfg)
	if _, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantB, Scopes: []string{"a"}})); err != nil {
		t.Errorf("ENTRA_ALLOWED_TENANTS=* refused a tenant: %v", err)
	}

	t.Setenv("ENTRA_ALLOWED_TENANTS", "*,"+tenantA)
	_, err := entra.NewValidator(entra.ConfigFromEnv())
	if !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), "ENTRA_ALLOWED_TENANTS mixes") {
		t.Errorf("* with a tenant ID: got %v, want a config error naming ENTRA_ALLOWED_TENANTS", err)
	}

	t.Setenv("ENTRA_ALLOWED_TENANTS", "")
	_, err = entra.NewValidator(entra.ConfigFromEnv())
	if !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), "ENTRA_ALLOWED_TENANTS=*") {
		t.Errorf("organizations without ENTRA_ALLOWED_TENANTS: got %v, want a config error naming ENTRA_ALLOWED_TENANTS", err)
	}
}
