// Package entraecho protects Echo v4 (github.com/labstack/echo/v4) routes
// with Microsoft Entra ID bearer tokens. It is a thin adapter over [entra] (package
// github.com/entraguard/entraguard/core): the core validates tokens, checks
// requirements and shapes every refusal; this package only translates
// between Echo and the core, so an Echo API answers exactly like the
// net/http, Gin and Fiber ones.
//
// Quick start:
//
//	api := e.Group("/api", entraecho.Authenticate(v))               // protect; v from entra.NewValidator
//	api.GET("/admin", adminHandler, entraecho.RequireRole("Admin")) // guard a route (or a group)
//	claims, _ := entraecho.Claims(c)                                // the caller, in a handler
//
// To leave some requests unchecked, use [Config.Skipper] with
// [AuthenticateWithConfig], Echo's own idiom (true = skip), or mount the
// middleware on a route group. Guards such as [RequireRole] are built at
// set-up (they panic there when given no names) and refuse with 401 when
// the request did not go through Authenticate. Refusals are the core's
// bytes, written in full; the middleware then returns nil, so the app's
// HTTPErrorHandler cannot rewrite them.
//
// Handlers return errors: install [ErrorHandler] so that an *entra.Error a
// handler returns (or wraps) gets the same RFC 6750 answer as a refusal of
// the middleware, while every other error still reaches the app's own
// handler; or write one with [WriteError].
//
//	e.HTTPErrorHandler = entraecho.ErrorHandler(e.HTTPErrorHandler)
package entraecho
