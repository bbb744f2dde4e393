package entra_test

import (
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
)

// ".default" and App ID URIs are not what a token's scp or roles carry: a
// guard given one would refuse everyone, so it panics at set-up with the
// fix, for scopes and app roles alike.
func TestDefaultAndRoleURIPanicWithTheFix(t *testing.T) {
	tests := map[string]struct {
		fn   func()
		want []string
	}{
		"scope .default":          {func() { entra.RequireScope(".default") }, []string{`".default"`, "no token carries", `RequireRole("Orders.Read.All")`}},
		"scope URI/.default":      {func() { entra.RequireAllScopes("api://orders/.default") }, []string{"no token carries"}},
		"role as a URI":           {func() { entra.RequireRole("api://x/Admin") }, []string{`"api://x/Admin"`, `name it as "Admin"`, "without the App ID URI"}},
		"role as an https URI":    {func() { entra.RequireAllRoles("https://api.contoso.com/Orders.Admin") }, []string{`"Orders.Admin"`}},
		"role URI naming no role": {func() { entra.RequireRole("api://x/") }, []string{"names no app role"}},
		"role .default":           {func() { entra.RequireRole(".default") }, []string{"no token carries", `RequireRole("Orders.Read.All")`}},
		"role URI/.default":       {func() { entra.RequireRole("api://x/.default") }, []string{"no token carries"}},
		"two roles in one string": {func() { entra.RequireRole("Admin Reader") }, []string{"one role per argument"}},
		"ScopeOrAppRole role URI": {func() { entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"api://orders/Orders.Read.All"}) }, []string{`"Orders.Read.All"`}},
		"ScopeOrAppRole .default": {func() { entra.RequireScopeOrAppRole([]string{".default"}, []string{"Orders.Read.All"}) }, []string{"no token carries"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.HasPrefix(msg, "entra: ") {
					t.Fatalf("panic = %v, want an entra: panic", r)
				}
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("panic %q does not say %s", msg, w)
					}
				}
			}()
			tc.fn()
		})
	}
	// Names as tokens carry them still work, dots and colons included.
	entra.RequireRole("Admin", "Orders.Read.All", "Task:Write")
	entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"})
	entra.RequireScope("user_impersonation")
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
