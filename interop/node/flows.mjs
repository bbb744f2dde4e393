// Runs Microsoft's Node clients, unmodified, against a running entraguard
// emulator and writes every token they get, by flow, to OUT_FILE (JSON).
// The Go test of interop/ (node_test.go) starts the emulator, runs this
// script and validates each token; it sets:
//
//   EMU_URL             the emulator's base URL (https; NODE_EXTRA_CA_CERTS trusts it)
//   TENANT_ID           the tenant
//   API_ID              the API's client ID (scopes api://{API_ID}/…)
//   WEB_ID, WEB_SECRET  a confidential web app; WEB_REDIRECT its redirect URI
//   CLI_ID              a public client (http://localhost redirect, device code)
//   DAEMON_ID, DAEMON_CERT, DAEMON_KEY        a daemon with a certificate (PEM files)
//   STRICT_ID, STRICT_CERT, STRICT_KEY        the same, with refuse_assertion_replay
//   MID_ID, MID_CERT, MID_KEY                 a middle tier (on-behalf-of) with a certificate
//   USERS               comma-separated sign-in names for on-behalf-of
//   MI_CLIENT_ID        a user-assigned managed identity (IDENTITY_ENDPOINT, IDENTITY_HEADER set)
//   WORKER_ID, AZURE_FEDERATED_TOKEN_FILE     a workload identity
//   OUT_FILE            where to write the tokens
//
// A flow that fails is written as {"error": "..."} under its name, and the
// script goes on; the Go test reports it.
import { readFileSync, writeFileSync } from "node:fs";
import { createHash, X509Certificate } from "node:crypto";
import { ConfidentialClientApplication, PublicClientApplication, CryptoProvider, ResponseMode, LogLevel } from "@azure/msal-node";
import { ManagedIdentityCredential, WorkloadIdentityCredential } from "@azure/identity";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name}`);
  return v;
};
const emu = env("EMU_URL");
const authority = `${emu}/${env("TENANT_ID")}`;
const host = new URL(emu).host;
const api = (scope) => `api://${env("API_ID")}/${scope}`;
const out = {};
const system = {
  loggerOptions: {
    logLevel: LogLevel.Warning,
    piiLoggingEnabled: false,
    loggerCallback: (_level, message) => console.error(message),
  },
};
const auth = (clientId, extra) => ({ auth: { clientId, authority, knownAuthorities: [host], ...extra }, system });

function certificate(certFile, keyFile) {
  const pem = readFileSync(certFile, "utf8");
  const der = new X509Certificate(pem).raw;
  return {
    thumbprintSha256: createHash("sha256").update(der).digest("hex"),
    privateKey: readFileSync(keyFile, "utf8"),
  };
}

async function flow(name, fn) {
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { error: String(e && (e.errorCode ? `${e.errorCode}: ${e.errorMessage}` : e.message || e)) };
  }
}

// The browser's part in the non-interactive emulator: it answers the
// authorization request at once, as a form_post page or a redirect; this
// returns the fields of the answer (code, state, ...).
async function authorize(url) {
  const resp = await fetch(url, { redirect: "manual" });
  const body = await resp.text();
  if (resp.status === 302) {
    const loc = new URL(resp.headers.get("location"));
    if (loc.searchParams.get("error")) throw new Error(`authorize: ${loc.searchParams.get("error_description")}`);
    return Object.fromEntries(loc.searchParams);
  }
  const fields = {};
  for (const m of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]] = m[2];
  if (resp.status !== 200 || !fields.code) throw new Error(`authorize: ${resp.status} ${fields.error_description || "no code"}`);
  return fields;
}

const crypto = new CryptoProvider();

// Authorization code with PKCE through form_post (a confidential web
// app), then a refresh: acquireTokenSilent with forceRefresh.
await flow("authcode", async () => {
  const web = new ConfidentialClientApplication(auth(env("WEB_ID"), { clientSecret: env("WEB_SECRET") }));
  const pkce = await crypto.generatePkceCodes();
  const scopes = [api("Orders.Read")];
  const url = await web.getAuthCodeUrl({
    scopes, redirectUri: env("WEB_REDIRECT"), responseMode: ResponseMode.FORM_POST,
    codeChallenge: pkce.challenge, codeChallengeMethod: "S256", state: "node-state", nonce: "node-nonce",
  });
  const answer = await authorize(url);
  // MSAL checks the answer's state and the ID token's nonce.
  const res = await web.acquireTokenByCode(
    { code: answer.code, scopes, redirectUri: env("WEB_REDIRECT"), codeVerifier: pkce.verifier, state: "node-state", nonce: "node-nonce" },
    { code: answer.code, state: answer.state });
  const refreshed = await web.acquireTokenSilent({ account: res.account, scopes: [api("Orders.Write")], forceRefresh: true });
  const again = await web.acquireTokenSilent({ account: res.account, scopes, forceRefresh: true });
  return { access: res.accessToken, id: res.idToken, refreshed: refreshed.accessToken, rotated: again.accessToken };
});

// Device code (a public client); the emulator answers the first poll.
await flow("devicecode", async () => {
  const cli = new PublicClientApplication(auth(env("CLI_ID")));
  let message = "";
  const res = await cli.acquireTokenByDeviceCode({ scopes: [api("Orders.Read")], deviceCodeCallback: (r) => { message = r.message; } });
  return { access: res.accessToken, message };
});

// Client credentials twice with a certificate: MSAL Node signs one client
// assertion and sends it again (skipCache forces the second request).
await flow("clientcredentials", async () => {
  const daemon = new ConfidentialClientApplication(auth(env("DAEMON_ID"), { clientCertificate: certificate(env("DAEMON_CERT"), env("DAEMON_KEY")) }));
  const first = await daemon.acquireTokenByClientCredential({ scopes: [api(".default")] });
  const second = await daemon.acquireTokenByClientCredential({ scopes: [api(".default")], skipCache: true });
  return { first: first.accessToken, second: second.accessToken };
});

// The same against an app that refuses a replayed assertion: the second
// request must fail (AADSTS50027), which shows that MSAL Node reused it.
await flow("replay", async () => {
  const strict = new ConfidentialClientApplication(auth(env("STRICT_ID"), { clientCertificate: certificate(env("STRICT_CERT"), env("STRICT_KEY")) }));
  const first = await strict.acquireTokenByClientCredential({ scopes: [api(".default")] });
  let secondError = "";
  try {
    await strict.acquireTokenByClientCredential({ scopes: [api(".default")], skipCache: true });
  } catch (e) {
    secondError = String(e.errorMessage || e.message);
  }
  return { first: first.accessToken, secondError };
});

// On-behalf-of for two users: each signs in to a public client for the
// middle tier (auth code with PKCE, query response mode, login_hint), and
// the middle tier (one client, one certificate assertion) exchanges each
// user's token for one for the API.
await flow("obo", async () => {
  const cli = new PublicClientApplication(auth(env("CLI_ID")));
  const mid = new ConfidentialClientApplication(auth(env("MID_ID"), { clientCertificate: certificate(env("MID_CERT"), env("MID_KEY")) }));
  const result = {};
  for (const user of env("USERS").split(",")) {
    const pkce = await crypto.generatePkceCodes();
    const scopes = [`api://${env("MID_ID")}/access_as_user`];
    const redirectUri = "http://localhost:53123/";
    const url = await cli.getAuthCodeUrl({ scopes, redirectUri, loginHint: user, responseMode: ResponseMode.QUERY,
      codeChallenge: pkce.challenge, codeChallengeMethod: "S256" });
    const { code } = await authorize(url);
    const signedIn = await cli.acquireTokenByCode({ code, scopes, redirectUri, codeVerifier: pkce.verifier });
    const obo = await mid.acquireTokenOnBehalfOf({ oboAssertion: signedIn.accessToken, scopes: [api("Orders.Read")] });
    result[user] = { user: signedIn.accessToken, obo: obo.accessToken };
  }
  return result;
});

// @azure/identity: managed identity (App Service: IDENTITY_ENDPOINT and
// IDENTITY_HEADER) and workload identity (AZURE_FEDERATED_TOKEN_FILE).
await flow("managedidentity", async () => {
  const cred = new ManagedIdentityCredential({ clientId: env("MI_CLIENT_ID") });
  return { access: (await cred.getToken(api(".default"))).token };
});
await flow("workloadidentity", async () => {
  const cred = new WorkloadIdentityCredential({
    tenantId: env("TENANT_ID"), clientId: env("WORKER_ID"), tokenFilePath: env("AZURE_FEDERATED_TOKEN_FILE"),
    authorityHost: emu, disableInstanceDiscovery: true,
  });
  return { access: (await cred.getToken(api(".default"))).token };
});

writeFileSync(env("OUT_FILE"), JSON.stringify(out, null, 2));
