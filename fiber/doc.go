// Package entrafiber adapts entraguard to Fiber v2: middleware that
// authenticates Microsoft Entra ID bearer tokens, per-route guards, and the
// caller's claims.
//
// Quick start:
//
//	v, err := entra.NewValidator(entra.Config{TenantID: tenantID, ClientID: clientID})
//	api := app.Group("/api", entrafiber.Authenticate(v))
//	api.Get("/admin", entrafiber.RequireRole("Admin"), handler)
//
// Handlers read the caller with [Claims]. Validation, authorization and the
// answer to every refusal (status, WWW-Authenticate, Retry-After and JSON
// body) come from the core package, so Fiber answers exactly as net/http,
// Gin and Echo do. Refusals are written in full and the handlers return nil:
// an app's fiber.Config ErrorHandler never rewrites them, and the next
// handlers never run.
//
// [Config.Next] skips the middleware for requests it returns true for
// (Fiber's idiom); prefer mounting [Authenticate] on a route group.
//
// fasthttp reuses a request's buffers once its handler returns. The
// middleware copies every value it reads from the request before handing it
// to the core, and the claims own their memory, so handlers may keep the
// *entra.Claims and its strings after the request ends.
package entrafiber
