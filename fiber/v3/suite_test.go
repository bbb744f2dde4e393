package entrafiber_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	entrafiber "github.com/entraguard/entraguard/fiber/v3"
)

// adapter is entrafiber as the shared behaviour suite sees it.
var adapter = adaptertest.Adapter[fiber.Handler]{
	Authenticate:          entrafiber.Authenticate,
	Require:               entrafiber.Require,
	RequireScope:          entrafiber.RequireScope,
	RequireAllScopes:      entrafiber.RequireAllScopes,
	RequireRole:           entrafiber.RequireRole,
	RequireAllRoles:       entrafiber.RequireAllRoles,
	RequireScopeOrAppRole: entrafiber.RequireScopeOrAppRole,
	RequireGroup:          entrafiber.RequireGroup,
	RequireApp:            entrafiber.RequireApp,
	RequireTenant:         entrafiber.RequireTenant,
	RequireUser:           entrafiber.RequireUser,
	RequireAppOnly:        entrafiber.RequireAppOnly,
	RequireMember:         entrafiber.RequireMember,
	RequireAgent:          entrafiber.RequireAgent,
	DenyAgents:            entrafiber.DenyAgents,
	RequireAuthContext:    entrafiber.RequireAuthContext,
	Serve: func(t *testing.T, routes []adaptertest.Route[fiber.Handler]) http.Handler {
		app := newApp()
		for _, rt := range routes {
			handlers := make([]any, 0, len(rt.Chain))
			for _, h := range rt.Chain[min(1, len(rt.Chain)):] {
				handlers = append(handlers, h)
			}
			handlers = append(handlers, answer(rt.ReadClaims))
			if len(rt.Chain) == 0 {
				app.Get(rt.Path, handlers[0])
				continue
			}
			app.Get(rt.Path, rt.Chain[0], handlers...)
		}
		return viaTest(t, app)
	},
	ClaimsFix: "call Use before registering the routes",
}

// answer is the handler of the suite's routes.
func answer(readClaims bool) fiber.Handler {
	return func(c fiber.Ctx) error {
		switch _, found := entrafiber.Claims(c); {
		case !readClaims:
			return c.SendString("ok")
		case found:
			return c.SendString("claims")
		default:
			return c.SendString("none")
		}
	}
}

// viaTest serves each request with app.Test, which parses it as fasthttp
// parses a request from the network.
func viaTest(t *testing.T, app *fiber.App) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := app.Test(r, fiber.TestConfig{Timeout: 0})
		if err != nil {
			t.Errorf("app.Test: %v", err)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		if _, err := io.Copy(w, resp.Body); err != nil {
			t.Error(err)
		}
	})
}

func TestAdapter(t *testing.T) {
	adaptertest.RunAdapterTests(t, adapter)
}
