// Package entratest is a fake Microsoft Entra ID authority for tests, shaped
// like [net/http/httptest]: it runs in-process on a loopback port, serves
// Entra ID's OpenID metadata and signing keys at Entra ID's own paths, and
// mints signed access tokens shaped like Entra ID's, so that an API can be
// tested end to end with no tenant, no network and no secret.
//
// # Quick start
//
//	func TestOrders(t *testing.T) {
//		authority := entratest.NewServer()
//		defer authority.Close()
//
//		v, err := entra.NewValidator(authority.Config())
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer v.Close()
//
//		api := httptest.NewServer(entra.Middleware(v)(ordersHandler))
//		defer api.Close()
//
//		req, _ := http.NewRequest("GET", api.URL+"/orders", nil)
//		req.Header.Set("Authorization", "Bearer "+authority.UserToken("Orders.Read"))
//		// ... send req and check the answer
//	}
//
// [Server.Config] points a validator at the fake authority (TenantID,
// ClientID, AuthorityHost and HTTPClient); [Server.MultiTenantConfig] does
// the same for a multi-tenant API ("organizations" or "common"), to which
// the test adds AllowedTenants or AnyTenant, as NewValidator requires.
//
// # What it serves
//
// Under a tenant segment that is a tenant GUID (the server's own, or any
// other), "organizations", "common" or "consumers":
//
//	/{tenant}/v2.0/.well-known/openid-configuration   issuer URL/{tid}/v2.0
//	/{tenant}/.well-known/openid-configuration        issuer https://sts.windows.net/{tid}/
//	/{tenant}/discovery/v2.0/keys                     keys with an "issuer" property
//	/{tenant}/discovery/keys                          keys without it
//
// Multi-tenant documents carry the "{tenantid}" issuer template, as Entra
// ID's do. Keys are RSA keys with kid and x5t equal to the SHA-1 thumbprint
// of a self-signed certificate published in x5c, and no "alg", as Entra
// ID's; [WithoutX5C] publishes n and e only, as Azure AD B2C does.
//
// # Tokens
//
// [Server.UserToken] and [Server.AppToken] mint the two everyday tokens:
// a v2.0 delegated token with scopes, and a v2.0 app-only token with app
// roles. [Server.Mint] mints any other from a [Token] description: v1.0
// tokens, other tenants, audiences and lifetimes, extra or deleted claims
// and header fields. [Server.Sign], [Server.SignWithKey] and
// [Server.SignBytes] sign exactly what they are given, for attack tests.
//
// # Keys
//
// [Server.RotateKeys] publishes a new key and signs with it; the old key
// stays published until [Server.RemoveKey], as with Entra ID.
// [Server.AddKey], [Server.AddUnpublishedKey] and [Server.AddAppKey] add
// keys that are published but not used yet, never published, or published
// only with "?appid=" on the key URL; [Server.AddTenantKey] a key published
// only in one tenant's key sets. [Server.SetKeyIssuer] and
// [Server.SetKeyCloudInstance] change what the v2.0 key sets say of a key.
//
// Keys are for tests only: to keep start-up fast, 2048-bit keys come from a
// process-wide pool and are reused by later servers once a server closes
// (servers open at the same time never share a key).
//
// # Faults
//
// [Server.SetFault] makes an endpoint fail: [Status], [RetryAfter],
// [Delay], [Hang], [Body], [Huge], [Redirect], [Disconnect], or a [Fault]
// of your own; [Times] limits a fault to the next n requests.
// [Server.Fetches] counts the requests of each endpoint, to check that a
// validator caches, deduplicates and backs off.
//
// # Client credentials and on-behalf-of
//
// The token endpoint /{tenant}/oauth2/v2.0/token of the server's own tenant
// serves the client-credentials grant for apps registered with
// [Server.RegisterApp]: with a client_secret, or with a certificate-signed
// client_assertion ([NewClientCertificate], [ClientAssertion]). It answers
// as Entra ID does, with an app-only access token carrying the app's roles,
// or an Entra-shaped error (AADSTS codes); [Server.TokenURL] is its address.
// It also serves the on-behalf-of grant ([GrantJWTBearer]): a middle tier
// (an App with Scopes) exchanges its user's token for a delegated token for
// the API under test. Tokens have the API's version, [WithAccessTokenVersion].
//
// # Microsoft's client libraries
//
// MSAL and azidentity accept https authorities only: start the server with
// [NewTLSServer] and give them [Server.Client], which trusts its
// certificate. With MSAL Go (apps/confidential):
//
//	cred, _ := confidential.NewCredFromSecret(secret)
//	app, _ := confidential.New(srv.URL+"/"+srv.TenantID, clientID, cred,
//		confidential.WithHTTPClient(srv.Client()),
//		confidential.WithInstanceDiscovery(false))
//	res, _ := app.AcquireTokenByCredential(ctx, []string{"api://" + srv.ClientID + "/.default"})
//
// With azidentity, set ClientOptions.Cloud.ActiveDirectoryAuthorityHost to
// srv.URL + "/", ClientOptions.Transport to srv.Client() and
// DisableInstanceDiscovery to true. docs/testing.md has the whole set-up.
//
// # Conformance
//
// The shared tests for adapters live in package
// github.com/entraguard/entraguard/core/entratest/adaptertest:
// RunMiddlewareTests runs one table of requests against an API built with
// any adapter and compares every answer with the core's net/http middleware
// (ReferenceAPI); RunHTTPTests does the same for an API running as its own
// process; RunAdapterTests is the behaviour suite every framework adapter
// runs. They import the testing package; this package does not, so programs
// that embed the fake authority (the entraguard CLI's emulator, the
// examples) do not link it.
package entratest
