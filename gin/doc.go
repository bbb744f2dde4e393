// Package entragin protects Gin routes with Microsoft Entra ID bearer
// tokens. It is a thin adapter over [entra] (package
// github.com/entraguard/entraguard/core): the core validates tokens, checks
// requirements and shapes every refusal; this package only translates
// between Gin and the core, so a Gin API answers exactly like the net/http,
// Echo and Fiber ones.
//
// Quick start:
//
//	api := router.Group("/api", entragin.Authenticate(v))          // protect; v from entra.NewValidator
//	api.GET("/admin", entragin.RequireRole("Admin"), adminHandler) // guard a route (or a group)
//	claims, _ := entragin.Claims(c)                                // the caller, in a handler
//
// Gin has no skipper: mount [Authenticate] on the route group to protect and
// keep public routes (health probes) outside it. Guards such as
// [RequireRole] are built at set-up (they panic there when given no names)
// and refuse with 401 when the request did not go through Authenticate.
// Refusals are the core's bytes, written in full before the chain is
// aborted; no Gin error is recorded.
package entragin
