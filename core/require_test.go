package entra_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

func TestRequirements(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	claims := func(tok entratest.Token) *entra.Claims {
		t.Helper()
		c, err := v.Validate(ctx, srv.Mint(tok))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	groupA := "0f9a3c4e-1111-4a5b-9c6d-7e8f90a1b2c3"
	groupB := "5d2e7f10-2222-4c3b-8a9d-0e1f2a3b4c5d"
	otherTenant := "6babcaad-604b-40ac-a9d7-9fd97c0b779f"
	user := claims(entratest.Token{Scopes: []string{"Orders.Read", "Profile"}, Roles: []string{"Reader"}, Groups: []string{groupA}})
	app := claims(entratest.Token{App: true, Roles: []string{"Orders.Read.All", "Admin"}})
	overage := claims(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"hasgroups": true}})
	guest := claims(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"idp": "https://sts.windows.net/" + otherTenant + "/"}})
	multi := entratest.NewServer()
	defer multi.Close()
	mv := newValidator(t, anyTenant(multi.MultiTenantConfig(entra.TenantOrganizations)))
	foreign, err := mv.Validate(ctx, multi.Mint(entratest.Token{TenantID: otherTenant, Scopes: []string{"a"}}))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		req     entra.Requirement
		claims  *entra.Claims
		wantErr error
	}{
		{"scope present", entra.RequireScope("Orders.Read"), user, nil},
		{"one of the scopes", entra.RequireScope("Orders.Write", "Profile"), user, nil},
		{"scope is exact: prefix", entra.RequireScope("Orders"), user, entra.ErrForbidden},
		{"scope is exact: longer", entra.RequireScope("Orders.ReadWrite"), user, entra.ErrForbidden},
		{"scope is case-sensitive", entra.RequireScope("orders.read"), user, entra.ErrForbidden},
		{"app has no scopes", entra.RequireScope("Orders.Read"), app, entra.ErrForbidden},
		{"all scopes present", entra.RequireAllScopes("Orders.Read", "Profile"), user, nil},
		{"all scopes, one missing", entra.RequireAllScopes("Orders.Read", "Orders.Write"), user, entra.ErrForbidden},
		{"role of an app", entra.RequireRole("Admin"), app, nil},
		{"role of a user", entra.RequireRole("Reader"), user, nil},
		{"role is case-sensitive", entra.RequireRole("admin"), app, entra.ErrForbidden},
		{"a scope is not a role", entra.RequireRole("Orders.Read"), user, entra.ErrForbidden},
		{"all roles", entra.RequireAllRoles("Admin", "Orders.Read.All"), app, nil},
		{"all roles, one missing", entra.RequireAllRoles("Admin", "Writer"), app, entra.ErrForbidden},
		{"scope or app role: user with scope", entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}), user, nil},
		{"scope or app role: app with role", entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}), app, nil},
		{"scope or app role: user with only a role", entra.RequireScopeOrAppRole([]string{"Orders.Write"}, []string{"Reader"}), user, entra.ErrForbidden},
		{"scope or app role: app without role", entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Write.All"}), app, entra.ErrForbidden},
		{"group member", entra.RequireGroup(groupA), user, nil},
		{"not a group member", entra.RequireGroup(groupB), user, entra.ErrForbidden},
		{"groups overage is its own error", entra.RequireGroup(groupA), overage, entra.ErrGroupsOverage},
		{"calling app allowed", entra.RequireApp(app.AppID()), app, nil},
		{"calling app, GUID in upper case", entra.RequireApp(strings.ToUpper(app.AppID())), app, nil},
		{"group, GUID in upper case", entra.RequireGroup(strings.ToUpper(groupA)), user, nil},
		{"calling app not allowed", entra.RequireApp("0a0a0a0a-0000-4000-8000-000000000000"), app, entra.ErrForbidden},
		{"tenant allowed", entra.RequireTenant(strings.ToUpper(srv.TenantID)), user, nil},
		{"tenant not allowed", entra.RequireTenant(srv.TenantID), foreign, entra.ErrForbidden},
		{"user required, user", entra.RequireUser(), user, nil},
		{"user required, app", entra.RequireUser(), app, entra.ErrForbidden},
		{"app-only required, app", entra.RequireAppOnly(), app, nil},
		{"app-only required, user", entra.RequireAppOnly(), user, entra.ErrForbidden},
		{"member, member", entra.RequireMember(), user, nil},
		{"member, guest", entra.RequireMember(), guest, entra.ErrForbidden},
		{"member, app", entra.RequireMember(), app, nil},
		{"custom allows", entra.RequireFunc("has oid", func(c *entra.Claims) error {
			if c.ObjectID() == "" {
				return errors.New("no oid")
			}
			return nil
		}), user, nil},
		{"custom refuses", entra.RequireFunc("never", func(*entra.Claims) error { return errors.New("the caller may not do this") }), user, entra.ErrForbidden},
		{"custom picks its code", entra.RequireFunc("cae", func(*entra.Claims) error {
			return entra.ClaimsChallenge(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`)
		}), user, entra.ErrInsufficientClaims},
		{"all of, met", entra.AllOf(entra.RequireScope("Orders.Read"), entra.RequireMember()), user, nil},
		{"all of, one unmet", entra.AllOf(entra.RequireScope("Orders.Read"), entra.RequireMember()), guest, entra.ErrForbidden},
		{"any of, one met", entra.AnyOf(entra.RequireRole("Admin"), entra.RequireScope("Profile")), user, nil},
		{"any of, none met", entra.AnyOf(entra.RequireRole("Admin"), entra.RequireScope("Orders.Write")), user, entra.ErrForbidden},
		{"any of, overage reported", entra.AnyOf(entra.RequireGroup(groupB), entra.RequireRole("Admin")), overage, entra.ErrGroupsOverage},
		{"zero requirement refuses", entra.Requirement{}, user, entra.ErrForbidden},
		{"no claims", entra.RequireScope("Orders.Read"), nil, entra.ErrTokenMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Check(tc.claims)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Check: got %v, want %v", err, tc.wantErr)
			}
			// The description names what was required, not what the caller has.
			if strings.Contains(err.Error(), "Profile") && !strings.Contains(tc.req.String(), "Profile") {
				t.Errorf("error reveals the caller's scopes: %v", err)
			}
		})
	}
}

func TestRequirementScopesForChallenge(t *testing.T) {
	var e *entra.Error
	err := entra.RequireScope("Orders.Write").Check(nil)
	if !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatal(err)
	}
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	c, err := v.Validate(ctxT(t), srv.UserToken("Orders.Read"))
	if err != nil {
		t.Fatal(err)
	}
	err = entra.RequireScopeOrAppRole([]string{"Orders.Write", "Orders.Admin"}, []string{"Orders.Write.All"}).Check(c)
	if !errors.As(err, &e) || len(e.Scopes) != 2 || e.Scopes[0] != "Orders.Write" {
		t.Fatalf("Scopes for the challenge = %v", e)
	}
}

func TestEmptyRequirementsPanicAtSetup(t *testing.T) {
	for name, build := range map[string]func(){
		"RequireScope":            func() { entra.RequireScope() },
		"RequireAllScopes":        func() { entra.RequireAllScopes() },
		"RequireRole":             func() { entra.RequireRole() },
		"RequireAllRoles":         func() { entra.RequireAllRoles() },
		"RequireGroup":            func() { entra.RequireGroup() },
		"RequireApp":              func() { entra.RequireApp() },
		"RequireTenant":           func() { entra.RequireTenant() },
		"RequireScopeOrAppRole":   func() { entra.RequireScopeOrAppRole(nil, []string{"a"}) },
		"RequireScopeOrAppRole 2": func() { entra.RequireScopeOrAppRole([]string{"a"}, nil) },
		"empty name":              func() { entra.RequireRole("") },
		"padded name":             func() { entra.RequireScope(" Orders.Read") },
		"Require nil":             func() { entra.RequireFunc("x", nil) },
		"AllOf":                   func() { entra.AllOf() },
		"AnyOf":                   func() { entra.AnyOf() },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if !strings.HasPrefix(fmt.Sprint(r), "entra: ") {
					t.Errorf("panic %q does not start with entra:", r)
				}
			}()
			build()
		})
	}
}
