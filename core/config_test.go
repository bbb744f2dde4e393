package entra_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

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
	}
	for tenant, want := range bad {
		t.Run(tenant, func(t *testing.T) {
			v, err := entra.NewValidator(entra.Config{TenantID: tenant, ClientID: client})
			if err == nil {
				v.Close()
				t.Fatal("NewValidator accepted the TenantID")
			}
			if !errors.Is(err, entra.ErrConfig) {
				t.Fatalf("error %v, want ErrConfig", err)
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
func TestGUIDAudienceCaseInsensitive(t *testing.T) {
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
		"token audience in upper case":              {Audience: strings.ToUpper(srv.ClientID)},
		"api:// in upper case with an upper GUID":   {Audience: "API://" + strings.ToUpper(srv.ClientID)},
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
		"another GUID":                   {"3f1e2d4c-5b6a-4789-8abc-def012345679", "not accepted"},
		"URI differing in case":          {"api://contoso-orders", "only in letter case"},
		"GUID with a Kelvin sign":        {"api://" + strings.Replace(srv.ClientID, "a", "\u212a", 1), "not accepted"},
		"ClientID with a different tail": {srv.ClientID + "x", "not accepted"},
	}
	for name, tc := range refused {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Audience: tc.aud}))
		if !errors.Is(err, entra.ErrAudience) {
			t.Errorf("%s: got %v, want an audience refusal", name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", name, err, tc.want)
		}
	}
}
