package entra

// Fix returns what to do about a failure of this code, in a sentence or
// two of plain text: the "fix" column of docs/troubleshooting.md, with its
// links written as docs/ paths. Tools that explain a refusal (the
// entraguard CLI's explain) print it next to the Code and the error's
// Description. It returns "" for a code it does not know.
func (c Code) Fix() string {
	return codeFixes[c]
}

// codeFixes is the "fix" column of docs/troubleshooting.md's table of
// codes, as plain text (TestCodeFixesMatchTroubleshooting keeps them equal).
var codeFixes = map[Code]string{
	CodeConfigInvalid:          "the message names the field, the accepted values and the fix",
	CodeInvalidRequest:         "send the token once, in one place",
	CodeTokenMissing:           "send Authorization: Bearer <access token>",
	CodeTokenMalformed:         "send the raw access token, not a quoted, URL-encoded or truncated one. Tokens with very many claims may need a larger MaxTokenSize.",
	CodeTokenUnsupported:       "turn token encryption off for the API; the other cases are not Entra tokens",
	CodeAlgorithmNotAllowed:    "Entra signs with RS256. Anything else is a forged token or another issuer.",
	CodeFirstPartyToken:        "request a token for your API, with the scope api://<ClientID>/.default or api://<ClientID>/<scope>, not for Microsoft Graph (details: docs/troubleshooting.md#a-microsoft-graph-token-was-sent)",
	CodeUnknownKey:             "check that the token comes from the authority and tenant the API trusts (AuthorityHost, TenantID); for an app with custom signing keys, set AppSpecificKeys (details: docs/troubleshooting.md#unknown_key-the-key-is-not-published)",
	CodeSignatureInvalid:       "the token was altered or forged. A token cut short by a proxy or a header size limit can end up here too.",
	CodeTokenExpired:           "get a new token (clients refresh on their own); check clocks: docs/troubleshooting.md#clock-skew",
	CodeTokenNotYetValid:       "synchronise the clocks of the API's host and the token's issuer (NTP) (check clocks: docs/troubleshooting.md#clock-skew)",
	CodeClaimMissing:           "not an Entra access token",
	CodeIssuerInvalid:          "set TenantID to the tenant that issued the token, or use organizations for a multi-tenant API; for a national cloud set AuthorityHost (wrong tenant: docs/troubleshooting.md#wrong-tenant, clouds: docs/tenants-and-clouds.md#national-and-sovereign-clouds)",
	CodeAudienceInvalid:        "request the token for this API (scope api://<ClientID>/.default); if the API's App ID URI is custom, add it to Audiences (audience: docs/troubleshooting.md#v10-vs-v20-audience)",
	CodeTenantNotAllowed:       "add the tenant to AllowedTenants, or it is indeed not allowed",
	CodeTokenVersionNotAllowed: "set accessTokenAcceptedVersion in the API's manifest, or widen TokenVersions",
	CodeNoScopeOrRole:          "send an access token for the API; grant the daemon an application permission; or WithoutScopeOrRoleCheck() (details: docs/authorization.md#the-default-policy-scp-or-roles)",
	CodeOIDMissing:             "create a service principal for the calling app in the tenant (az ad sp create --id <client ID>, or admin consent); or Config.AllowMissingObjectID",
	CodeIDTokenNotAccepted:     "send an access token for the API's scopes; or opt in to ID tokens with WithoutScopeOrRoleCheck() (details: docs/authorization.md#the-default-policy-scp-or-roles)",
	CodeUserFlowNotAllowed:     "request the token through the API's user flow; list the flows in Config.B2CUserFlows, or set AnyB2CUserFlow (B2C: docs/tenants-and-clouds.md#azure-ad-b2c)",
	CodeInsufficientClaims:     "the client must request a new token with those claims (CAE: docs/authorization.md#claims-challenges-cae-and-conditional-access)",
	CodeForbidden:              "grant the scope or role (docs/entra-setup.md); check case: matching is exact",
	CodeGroupsOverage:          "require an app role instead of a group, or look the user's groups up in Microsoft Graph (groups overage: docs/troubleshooting.md#groups-overage)",
	CodeAgentNotAllowed:        "the route is not for agents: call it as a person or a classic application; or lift the guard (agents: docs/authorization.md#agents-microsoft-entra-agent-id)",
	CodeAuthContextRequired:    "the user signs in again and satisfies the context's Conditional Access policy: a client with the capability cp1 passes the challenge's claims to MSAL (WithClaims, claims); other clients ask for the context in their token request, claims {\"access_token\":{\"acrs\":{\"essential\":true,\"value\":\"c1\"}}}; app-only tokens never carry one (step-up: docs/authorization.md#step-up-conditional-access-authentication-context)",
	CodeKeysUnavailable:        "let the API reach the authority's metadata and key endpoints (network, proxy, AuthorityHost); it retries on its own (503: docs/troubleshooting.md#503-keys_unavailable)",
	CodeTokenRevoked:           "the caller signs in again / gets a new token (it passes a past cut-off); an operator lifts the entry. Which entry: entra.RevocationOf(err) (Kind, Key(), Reason); entrarevoke list. docs/revocation.md",
	CodeRevocationsUnavailable: "fix the path to Redis; mirror.Ready(ctx) and mirror.Stats().LastError say why. It heals by itself. staleness: docs/revocation.md#when-redis-is-unreachable-the-staleness-choice",
	CodeTokenBound:             "the client sends the bound token as Authorization: MTLS_POP <token> over TLS with its certificate, and the API opts in with WithMTLSBinding; or the client requests a Bearer token (bound tokens: docs/bound-tokens.md)",
	CodeTokenBindingInvalid:    "the client presents, on the TLS connection (or through a trusted proxy's header), the certificate the token was issued for; check the proxy settings (bound tokens: docs/bound-tokens.md#troubleshooting)",
}
