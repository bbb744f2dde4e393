// Package entrafiber adapts entraguard to Fiber v2 (github.com/gofiber/fiber/v2):
// middleware that authenticates Microsoft Entra ID bearer tokens, per-route
// guards, and the caller's claims.
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
// Handlers return errors: give the app [ErrorHandler] so that an
// *entra.Error a handler returns (or wraps) gets the same RFC 6750 answer
// as a refusal of the middleware, while every other error still reaches the
// app's own handler; or write one with [WriteError].
//
// Fiber's ReadBufferSize (4096 bytes by default) caps the whole request
// head: a larger request is answered 431 before any handler runs, and an
// Entra ID token of a user in 50 groups or more is larger. Set it to
// v.RequestHeaderSize() ([entra.Validator.RequestHeaderSize]):
//
//	app := fiber.New(fiber.Config{ReadBufferSize: v.RequestHeaderSize(), ErrorHandler: entrafiber.ErrorHandler(nil)})
//
// The middleware checks the setting on its first request and, if it is too
// small, logs the value to use through the validator's logger.
//
// fasthttp reuses a request's buffers once its handler returns. The
// middleware copies every value it reads from the request before handing it
// to the core, and the claims own their memory, so handlers may keep the
// *entra.Claims and its strings after the request ends.
package entrafiber
