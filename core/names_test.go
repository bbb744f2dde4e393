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
