// Package entra validates Microsoft Entra ID (Azure AD) bearer tokens and
// decides who may call an API. It is the core of entraguard: the Gin, Echo
// and Fiber adapters only translate between their framework and this package.
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
// Gin, Echo, Fiber, gRPC and Connect have thin adapters with the same
// decisions (modules entragin, entraecho, entrafiber, entragrpc,
// entraconnect). Outside a framework, [Authenticator.AuthenticateToken]
// gives the middleware's decision for a token.
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
// token's exp, and the cache is flushed when the key set changes. Claims are
// immutable, so cached claims are shared safely. [Config.CacheSize] bounds
// it; a negative size disables it.
package entra
