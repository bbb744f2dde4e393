package entra_test

import (
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// ENTRA_AUTHORITY_CA_FILE makes ConfigFromEnv's Validator trust a local
// authority's certificate (an emulator's), on every OS; without it the
// same authority is refused, and a file that is missing or holds no
// certificate is an error that names the variable.
func TestConfigFromEnvAuthorityCAFile(t *testing.T) {
	srv := entratest.NewTLSServer()
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "emulator.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.TLSCertificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	t.Setenv("ENTRA_TENANT_ID", srv.TenantID)
	t.Setenv("ENTRA_CLIENT_ID", srv.ClientID)
	t.Setenv("ENTRA_AUTHORITY_HOST", srv.URL+"/")
	newValidator := func() (*entra.Validator, error) {
		cfg := entra.ConfigFromEnv()
		cfg.Logger = slog.New(slog.DiscardHandler)
		return entra.NewValidator(cfg)
	}

	t.Setenv("ENTRA_AUTHORITY_CA_FILE", caFile)
	v, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(t.Context()); err != nil {
		t.Fatalf("Ready with ENTRA_AUTHORITY_CA_FILE: %v", err)
	}
	if _, err := v.Validate(t.Context(), srv.UserToken("Orders.Read")); err != nil {
		t.Fatalf("Validate with ENTRA_AUTHORITY_CA_FILE: %v", err)
	}

	t.Setenv("ENTRA_AUTHORITY_CA_FILE", "")
	untrusting, err := newValidator()
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	// Ready waits for its context, then says why the keys are not loaded:
	// asked again until the first fetch has failed, on a slow machine.
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := untrusting.Ready(ctx)
		cancel()
		if err != nil && strings.Contains(err.Error(), "certificate") {
			break
		}
		if err == nil || i == 60 {
			t.Fatalf("Ready without ENTRA_AUTHORITY_CA_FILE = %v, want the emulator's certificate refused", err)
		}
	}

	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.pem")
	if err := os.WriteFile(huge, make([]byte, 4<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"no certificate": notPEM, "missing": filepath.Join(dir, "missing.pem"), "over 4 MiB": huge} {
		t.Setenv("ENTRA_AUTHORITY_CA_FILE", file)
		_, err := newValidator()
		var e *entra.Error
		if !errors.As(err, &e) || e.Code != entra.CodeConfigInvalid || !strings.Contains(e.Description, "ENTRA_AUTHORITY_CA_FILE") {
			t.Errorf("%s: NewValidator = %v, want a configuration error naming ENTRA_AUTHORITY_CA_FILE", name, err)
		}
	}
}
