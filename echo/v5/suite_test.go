package entraecho_test

import (
	"net/http"
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entraecho "github.com/entraguard/entraguard/echo/v5"
	"github.com/labstack/echo/v5"
)

// adapter is entraecho as the shared behaviour suite sees it.
var adapter = adaptertest.Adapter[echo.MiddlewareFunc]{
	Authenticate:          entraecho.Authenticate,
	Require:               entraecho.Require,
	RequireScope:          entraecho.RequireScope,
	RequireAllScopes:      entraecho.RequireAllScopes,
	RequireRole:           entraecho.RequireRole,
	RequireAllRoles:       entraecho.RequireAllRoles,
	RequireScopeOrAppRole: entraecho.RequireScopeOrAppRole,
	RequireGroup:          entraecho.RequireGroup,
	RequireApp:            entraecho.RequireApp,
	RequireTenant:         entraecho.RequireTenant,
	RequireUser:           entraecho.RequireUser,
	RequireAppOnly:        entraecho.RequireAppOnly,
	RequireMember:         entraecho.RequireMember,
	RequireAgent:          entraecho.RequireAgent,
	DenyAgents:            entraecho.DenyAgents,
	RequireAuthContext:    entraecho.RequireAuthContext,
	Serve: func(t *testing.T, routes []adaptertest.Route[echo.MiddlewareFunc]) http.Handler {
		e := echo.New()
		for _, rt := range routes {
			e.GET(rt.Path, answer(rt.ReadClaims), rt.Chain...)
		}
		return e
	},
	ClaimsFix: "register the route in the group that has the middleware",
}

// answer is the handler of the suite's routes.
func answer(readClaims bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		switch _, found := entraecho.Claims(c); {
		case !readClaims:
			return c.String(http.StatusOK, "ok")
		case found:
			return c.String(http.StatusOK, "claims")
		default:
			return c.String(http.StatusOK, "none")
		}
	}
}

func TestAdapter(t *testing.T) {
	adaptertest.RunAdapterTests(t, adapter)
}
