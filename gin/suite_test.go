package entragin_test

import (
	"net/http"
	"testing"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entragin "github.com/entraguard/entraguard/gin"
	"github.com/gin-gonic/gin"
)

// adapter is entragin as the shared behaviour suite sees it.
var adapter = adaptertest.Adapter[gin.HandlerFunc]{
	Authenticate:          entragin.Authenticate,
	Require:               entragin.Require,
	RequireScope:          entragin.RequireScope,
	RequireAllScopes:      entragin.RequireAllScopes,
	RequireRole:           entragin.RequireRole,
	RequireAllRoles:       entragin.RequireAllRoles,
	RequireScopeOrAppRole: entragin.RequireScopeOrAppRole,
	RequireGroup:          entragin.RequireGroup,
	RequireApp:            entragin.RequireApp,
	RequireTenant:         entragin.RequireTenant,
	RequireUser:           entragin.RequireUser,
	RequireAppOnly:        entragin.RequireAppOnly,
	RequireMember:         entragin.RequireMember,
	RequireAgent:          entragin.RequireAgent,
	DenyAgents:            entragin.DenyAgents,
	RequireAuthContext:    entragin.RequireAuthContext,
	Serve: func(t *testing.T, routes []adaptertest.Route[gin.HandlerFunc]) http.Handler {
		r := gin.New()
		for _, rt := range routes {
			r.GET(rt.Path, append(rt.Chain, answer(rt.ReadClaims))...)
		}
		return r
	},
	ClaimsFix: "call Use before registering the routes",
}

// answer is the handler of the suite's routes.
func answer(readClaims bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch _, found := entragin.Claims(c); {
		case !readClaims:
			c.String(http.StatusOK, "ok")
		case found:
			c.String(http.StatusOK, "claims")
		default:
			c.String(http.StatusOK, "none")
		}
	}
}

func TestAdapter(t *testing.T) {
	adaptertest.RunAdapterTests(t, adapter)
}
