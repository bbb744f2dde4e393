// Package entra validates Microsoft Entra ID (Azure AD) bearer tokens and
// decides who may call an API. It is the core of entraguard: net/http is
// served here ([Middleware]), and the adapters for Gin, Echo (v4 and v5),
// Fiber (v2 and v3), gRPC and Connect only translate between their
// framework and this package.
//
// # Quick start
//
// Protect an API with the middleware: it takes the bearer token, validates
// it, applies the default policy (an access token for this API, carrying
// scp or roles) and puts the caller's [Claims] in the request context;
// guards such as [RequireScope] decide per route.
//
//	v, err := entra.NewValidator(entra.Config{
//		TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", // your tenant ID; multi-tenant: see Config.AllowedTenants
//		ClientID: "api-client-id",                        // the API's application (client) ID
//	}) // or entra.NewValidator(entra.ConfigFromEnv())
//	if err != nil {
//		log.Fatal(err) // says which field to fix
//	}
//	defer v.Close()
//
//	mux := http.NewServeMux()
//	mux.Handle("GET /orders", entra.RequireScope("Orders.Read").Middleware(orders))
//	log.Fatal(http.ListenAndServe(addr, entra.Middleware(v)(mux)))
//
//	// in a handler:
//	claims, _ := entra.ClaimsFromContext(r.Context())
//	fmt.Println(claims.ObjectID(), claims.Scopes(), claims.Roles())
//
// Gin, Echo v4 and v5, Fiber v2 and v3, gRPC and Connect have thin adapters
// with the same decisions (packages entragin, entraecho, entrafiber,
// entragrpc, entraconnect). Outside a framework,
// [Authenticator.AuthenticateToken] gives the middleware's decision for a
// token.
//
// A handler's own refusal (a [ClaimsChallenge], a [Requirement]'s Check)
// is answered with [WriteError] on net/http, with the adapter's WriteError
// or Error elsewhere: the same RFC 6750 answer as the middleware's.
//
// [Validator.Validate] is the lower layer: it checks a token's signature
// and claims and applies no policy, so an ID token of this app, or a token
// without any permission, passes it. Use it only to build your own policy
// on top.
//
// # What is validated
//
// [Validator.Validate] checks, cheapest first: the token's size; its
// structure (three segments of strict base64url; JWE refused); the JOSE
// header (strict JSON without duplicate names; alg in [Config.Algorithms],
// RS256 by default; kid present; jku, jwk, x5u, x5c, crit and nested tokens
// refused; a header nonce marks a Microsoft Graph token, which only Microsoft
// can validate, refused with [ErrFirstPartyToken]); the signing key, looked
// up by kid in the authority's published keys; the signature; then exp
// (required) and nbf with [Config.ClockSkew]; the issuer, learned from the
// authority's v2.0 and v1.0 OpenID metadata (for "organizations" and "common"
// the {tenantid} template is filled with the token's own tid); the tid, which
// must be a GUID, match the issuer, and be in [Config.AllowedTenants] when
// set; the issuer property of v2 signing keys; the audience (ClientID,
// api://ClientID and [Config.Audiences]); and the token version.
//
// Every failure is an [*Error] with a stable [Code], a description that is
// safe to show the caller (it never contains the token or key material), and
// a sentinel for errors.Is.
//
// # Keys and outages
//
// Metadata and keys are fetched in the background when the Validator is
// created and refreshed every [Config.RefreshInterval]. A token signed with
// an unknown kid triggers a refresh at most once per
// [Config.MinRefreshInterval]; requests never wait for that limit, only for a
// fetch already in flight and only as long as their context allows. When a
// refresh fails the last good keys keep serving, and retries back off up to a
// minute, or longer when the authority answers 429 or 503 with Retry-After
// (up to ten minutes). A Validator that never loaded keys answers [ErrKeysUnavailable]
// (HTTP 503) and heals by itself once the authority answers again.
//
// # Verified-token cache
//
// Successful validations are cached by the whole token string until the
// token's exp, and the cache is flushed when the key set changes. A token
// is stored from its second successful validation (the first records only
// a fingerprint, so a token presented once keeps no memory);
// [Config.CacheFirstSight] stores from the first. Claims are immutable, so
// cached claims are shared safely. [Config.CacheSize] bounds it; a
// negative size disables it.
//
// # Writing an adapter
//
// An API developer rarely needs the following (ResponseFor, for a router
// without an adapter): they are the plumbing the adapters are built from,
// for someone who adapts entraguard to another framework. Their doc
// comments begin "For adapter authors:". An adapter stays a translation:
// every decision is made here.
//
//   - Reading the request: [Request] (what the middleware reads),
//     [HTTPRequest] (a *http.Request as a Request), [HeaderBytesRequest]
//     (for frameworks that hold headers as bytes), [PeerRequest] (the
//     client certificate, for mTLS-bound tokens) with [Peer], and
//     [ContextWithPeer] for a request that cannot tell its peer.
//   - Authenticating: [Authenticator.Authenticate]
//     (the middleware's decision and its answer),
//     [Authenticator.Skipped] (a request the framework's own skipper let
//     through), [Authenticator.CheckHeaderLimit] (a server header limit too
//     small for Config.MaxTokenSize).
//   - Context: [ContextKey] (for frameworks whose context is not a
//     context.Context), [ClaimsForRoute] (claims, naming the route in the
//     set-up-mistake report).
//   - Guards and answers: [AuthorizeRoute] (a guard's decision, naming the
//     route), [ResponseFor] (the answer to any error, with the options of
//     the middleware that ran; write it with [Response.Write] or the
//     framework's own calls).
//   - RPC: [Authenticator.AuthenticateRPC] with [MethodRules],
//     [Metadata] and [HeaderMetadata] (the call's metadata), [RPCStatus]
//     and [RPCStatusFromContext] (a refusal as an RPC status),
//     [Authenticator.WatchCall] and [CallStatus] (ending a stream when its
//     token expires or is revoked), [Authenticator.CheckRules].
package entra
