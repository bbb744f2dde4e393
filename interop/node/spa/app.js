// A single-page app with MSAL Browser: loginRedirect, then
// acquireTokenSilent (from its cache, then forcing a refresh with the
// refresh token at the token endpoint, cross-origin), then a call of the
// API's /api/me with the access token. The outcome is written to the page
// (#status, #result), never the token.
(async () => {
  const cfg = window.SPA_CONFIG;
  const status = document.getElementById("status");
  const done = (state, text) => {
    status.textContent = text;
    document.body.dataset.state = state;
  };
  try {
    const pca = new msal.PublicClientApplication({
      auth: {
        clientId: cfg.clientId,
        authority: cfg.authority,
        knownAuthorities: [new URL(cfg.authority).host],
        redirectUri: window.location.origin + "/",
      },
      cache: { cacheLocation: "sessionStorage" },
    });
    await pca.initialize();
    await pca.handleRedirectPromise();
    const account = pca.getAllAccounts()[0];
    if (!account) {
      await pca.loginRedirect({ scopes: cfg.scopes });
      return;
    }
    const cached = await pca.acquireTokenSilent({ scopes: cfg.scopes, account });
    const refreshed = await pca.acquireTokenSilent({ scopes: cfg.scopes, account, forceRefresh: true });
    if (cached.accessToken === refreshed.accessToken) throw new Error("forceRefresh returned the cached token");
    const resp = await fetch(cfg.api + "/api/me", { headers: { Authorization: "Bearer " + refreshed.accessToken } });
    document.getElementById("result").textContent = await resp.text();
    done("done", `Signed in as ${account.username}; the API answered ${resp.status}.`);
  } catch (e) {
    done("error", "Failed: " + (e && (e.errorCode || e.message) || e));
  }
})();
