// Package emulator is a local Microsoft Entra ID for a whole stack in
// development and CI: the metadata, keys, tokens and token endpoint of
// [entratest] (client credentials with secrets and certificates,
// on-behalf-of), plus what users and services need to get tokens the way
// they do in Azure:
//
//   - sign-in: the authorization code flow with PKCE at
//     /{tenant}/oauth2/v2.0/authorize (response_mode query, fragment and
//     form_post; state, nonce, prompt, login_hint, domain_hint), an
//     accessible HTML sign-in and consent page that needs no JavaScript, or
//     a non-interactive mode for headless tests; ID tokens, rotating
//     refresh tokens, /oauth2/v2.0/logout and a userinfo endpoint;
//   - Entra's v1.0 sign-in endpoints, /{tenant}/oauth2/authorize and
//     /{tenant}/oauth2/token (authorization code with PKCE, refresh token
//     and client credentials, each with a resource), answered in v1.0's
//     shape with v1.0 ID tokens (upn, unique_name);
//   - the device code flow (/oauth2/v2.0/devicecode and a page to enter
//     the code);
//   - managed identity: the App Service endpoint (IDENTITY_ENDPOINT,
//     IDENTITY_HEADER) and an IMDS-shaped one;
//   - workload identity federation: client assertions of external
//     issuers, checked through their discovery document and keys, and a
//     workload issuer of its own that writes service-account tokens to a
//     file (AZURE_FEDERATED_TOKEN_FILE);
//   - Microsoft Entra Agent ID: a blueprint's token for an agent
//     (fmi_path), the agent's app-only token, and its agent-user token.
//
// Everything comes from one [Config], read by [LoadConfig]. The command
// "entraguard emulator" serves an [Emulator]; tests can mount one with
// httptest. It is for development only: it asks no password, and its
// tokens are worth nothing anywhere else.
//
// Package entratest stays the small httptest-style fake that users link
// into their own tests; sign-in pages, sessions and identity endpoints live
// here.
package emulator
