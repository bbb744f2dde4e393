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
