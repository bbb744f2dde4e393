package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// Bounds of the in-memory state: a sign-in must finish within
// loginLifetime, a session lasts sessionLifetime, and at most maxEntries
// of each are kept (the oldest go first).
const (
	loginLifetime   = 10 * time.Minute
	sessionLifetime = 8 * time.Hour
	maxEntries      = 10000
	sessionCookie   = "webapp_session"
	loginCookie     = "webapp_login"
)

// webApp is the web app: MSAL's confidential client, the sign-ins under
// way, the sessions, and the per-user token cache.
type webApp struct {
	s      *settings
	msal   confidential.Client
	api    *http.Client
	tokens *userTokenCache

	mu       sync.Mutex
	logins   map[string]*pendingLogin // by state
	sessions map[string]*userSession  // by session cookie
}

// pendingLogin is a sign-in under way, from /login to /auth/complete.
type pendingLogin struct {
	binding  string // the login cookie of the browser that started it
	verifier string // PKCE code verifier
	nonce    string
	code     string // the authorization code, once posted back
	expires  time.Time
}

// userSession is a signed-in browser: its user's MSAL account.
type userSession struct {
	homeAccountID string
	name, upn     string
	idToken       string // for the logout's id_token_hint
	expires       time.Time
}

func newWebApp(s *settings, httpClient *http.Client) (*webApp, error) {
	cred, err := confidential.NewCredFromSecret(s.secret)
	if err != nil {
		return nil, err
	}
	tokens := &userTokenCache{byKey: map[string][]byte{}}
	authority := strings.TrimSuffix(s.authorityHost, "/") + "/" + s.tenantID
	opts := []confidential.Option{confidential.WithCache(tokens), confidential.WithHTTPClient(httpClient)}
	if !strings.EqualFold(strings.TrimSuffix(s.authorityHost, "/"), "https://login.microsoftonline.com") {
		// Instance discovery asks login.microsoftonline.com about the
		// authority: only Microsoft's own clouds are known there.
		opts = append(opts, confidential.WithInstanceDiscovery(false))
	}
	client, err := confidential.New(authority, s.clientID, cred, opts...)
	if err != nil {
		return nil, err
	}
	return &webApp{s: s, msal: client, api: &http.Client{Timeout: 30 * time.Second}, tokens: tokens,
		logins: map[string]*pendingLogin{}, sessions: map[string]*userSession{}}, nil
}

func (a *webApp) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("POST /auth/callback", a.callback)
	mux.HandleFunc("GET /auth/complete", a.complete)
	mux.HandleFunc("GET /me", a.me)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	return a.securityHeaders(mux)
}

// securityHeaders sets the headers of every answer. The sign-out form's
// POST is redirected to the authority, which form-action must allow.
func (a *webApp) securityHeaders(h http.Handler) http.Handler {
	formAction := "'self'"
	if u, err := url.Parse(a.s.authorityHost); err == nil {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'none'; style-src 'unsafe-inline'; form-action " + formAction + "; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", csp)
		h.ServeHTTP(w, r)
	})
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Contoso Orders</title></head>
<body><main>
<h1>Contoso Orders</h1>
{{if .Problem}}<p role="alert">{{.Problem}}</p>{{end}}
{{if .User}}
<p>Signed in as <strong id="user">{{.User.Name}}</strong> ({{.User.UPN}}).</p>
<p><a href="/me">Call the API as {{.User.Name}}</a></p>
{{if .Answer}}<h2>The API answered {{.Status}}</h2><pre id="answer">{{.Answer}}</pre>{{end}}
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
{{else}}
<p>You are not signed in.</p>
<p><a id="login" href="/login">Sign in</a></p>
{{end}}
</main></body></html>
`))

type pageData struct {
	User    *userSession
	Problem string
	Status  int
	Answer  string
}

func render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = page.Execute(w, d)
}

func (a *webApp) home(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, pageData{User: a.session(r)})
}

// login starts a sign-in: MSAL's authorization URL with PKCE (S256), a
// nonce, form_post and a state kept here, tied to this browser by a
// cookie.
func (a *webApp) login(w http.ResponseWriter, r *http.Request) {
	authURL, err := a.msal.AuthCodeURL(r.Context(), a.s.clientID, a.s.redirectURL, []string{a.s.apiScope})
	if err != nil {
		slog.Error("building the authorization URL", "error", err)
		render(w, http.StatusInternalServerError, pageData{Problem: "Sign-in is not available right now."})
		return
	}
	p := &pendingLogin{binding: randomString(), verifier: randomString() + randomString(), nonce: randomString(), expires: time.Now().Add(loginLifetime)}
	state := randomString()
	u, err := url.Parse(authURL)
	if err != nil {
		render(w, http.StatusInternalServerError, pageData{Problem: "Sign-in is not available right now."})
		return
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(p.verifier))
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	q.Set("response_mode", "form_post")
	q.Set("state", state)
	q.Set("nonce", p.nonce)
	u.RawQuery = q.Encode()

	a.mu.Lock()
	sweep(a.logins, func(p *pendingLogin) time.Time { return p.expires })
	a.logins[state] = p
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: p.binding, Path: "/auth/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(loginLifetime / time.Second)})
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// callback receives the authorization response that Entra ID's page posts
// (form_post). That POST comes from another site, so the browser leaves out
// this app's SameSite=Lax cookies: the code is kept with its sign-in and the
// browser sent on to /auth/complete, a top-level GET that carries them.
func (a *webApp) callback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, pageData{Problem: "The sign-in answer could not be read. Sign in again."})
		return
	}
	state := r.PostForm.Get("state")
	a.mu.Lock()
	p := a.logins[state]
	if p != nil && p.code == "" && time.Now().Before(p.expires) {
		p.code = r.PostForm.Get("code")
	} else {
		p = nil
	}
	a.mu.Unlock()
	if p == nil {
		render(w, http.StatusBadRequest, pageData{Problem: "This sign-in expired or was already used. Sign in again."})
		return
	}
	if e := r.PostForm.Get("error"); e != "" {
		a.mu.Lock()
		delete(a.logins, state)
		a.mu.Unlock()
		// error_description is Entra ID's text: shown, never echoed into markup unescaped.
		render(w, http.StatusUnauthorized, pageData{Problem: "Sign-in failed: " + e + ": " + r.PostForm.Get("error_description")})
		return
	}
	http.Redirect(w, r, "/auth/complete?state="+url.QueryEscape(state), http.StatusSeeOther)
}

// complete redeems the code of the sign-in this browser started, with its
// PKCE verifier, and starts a session.
func (a *webApp) complete(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	c, _ := r.Cookie(loginCookie)
	a.mu.Lock()
	p := a.logins[state]
	delete(a.logins, state)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/auth/", HttpOnly: true, MaxAge: -1})
	if p == nil || p.code == "" || c == nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.binding)) != 1 || time.Now().After(p.expires) {
		render(w, http.StatusBadRequest, pageData{Problem: "This sign-in was not started in this browser, expired or was already used. Sign in again."})
		return
	}
	res, err := a.msal.AcquireTokenByAuthCode(r.Context(), p.code, a.s.redirectURL, []string{a.s.apiScope}, confidential.WithChallenge(p.verifier))
	if err != nil {
		slog.Error("redeeming the authorization code", "error", err)
		render(w, http.StatusUnauthorized, pageData{Problem: "Sign-in failed: the code could not be redeemed. Sign in again."})
		return
	}
	if idTokenNonce(res.IDToken.RawToken) != p.nonce {
		render(w, http.StatusUnauthorized, pageData{Problem: "Sign-in failed: the ID token is not for this sign-in. Sign in again."})
		return
	}
	s := &userSession{homeAccountID: res.Account.HomeAccountID, name: res.IDToken.Name, upn: res.IDToken.PreferredUsername,
		idToken: res.IDToken.RawToken, expires: time.Now().Add(sessionLifetime)}
	id := randomString()
	a.mu.Lock()
	sweep(a.sessions, func(s *userSession) time.Time { return s.expires })
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionLifetime / time.Second)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// me calls the API's /api/me with the user's access token, from the
// user's cache (MSAL redeems the refresh token when it has expired).
func (a *webApp) me(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s == nil {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	account, err := a.msal.Account(r.Context(), s.homeAccountID)
	if err != nil || account.HomeAccountID == "" {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	res, err := a.msal.AcquireTokenSilent(r.Context(), []string{a.s.apiScope}, confidential.WithSilentAccount(account))
	if err != nil {
		// No token and no refresh token that works: the user signs in again.
		slog.Info("no token in the user's cache; signing in again", "error", err)
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.s.apiURL+"/api/me", nil)
	if err != nil {
		render(w, http.StatusInternalServerError, pageData{User: s, Problem: "API_URL is not a URL."})
		return
	}
	req.Header.Set("Authorization", "Bearer "+res.AccessToken)
	resp, err := a.api.Do(req)
	if err != nil {
		slog.Error("calling the API", "error", err)
		render(w, http.StatusBadGateway, pageData{User: s, Problem: "The API could not be reached."})
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	answer := string(body)
	var v any
	if json.Unmarshal(body, &v) == nil {
		if b, err := json.MarshalIndent(v, "", "  "); err == nil {
			answer = string(b)
		}
	}
	render(w, http.StatusOK, pageData{User: s, Status: resp.StatusCode, Answer: answer})
}

// logout ends the session, forgets the user's tokens, and signs the user
// out at Entra ID, which sends the browser back to this app's home page:
// register it (WEB_REDIRECT_URL with path "/") as a redirect URI too.
func (a *webApp) logout(w http.ResponseWriter, r *http.Request) {
	var s *userSession
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		s = a.sessions[c.Value]
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.tokens.forget(s.homeAccountID)
	home, err := url.Parse(a.s.redirectURL)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	home.Path, home.RawQuery = "/", ""
	q := url.Values{"post_logout_redirect_uri": {home.String()}, "id_token_hint": {s.idToken}, "client_id": {a.s.clientID}}
	http.Redirect(w, r, strings.TrimSuffix(a.s.authorityHost, "/")+"/"+a.s.tenantID+"/oauth2/v2.0/logout?"+q.Encode(), http.StatusSeeOther)
}

func (a *webApp) session(r *http.Request) *userSession {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

// Name is the user's display name, for the page.
func (s *userSession) Name() string { return s.name }

// UPN is the user's sign-in name.
func (s *userSession) UPN() string { return s.upn }

// userTokenCache is MSAL's token cache, one partition per user: MSAL asks
// for the partition of the account it works on (its home account ID), so a
// user's tokens are never loaded for another. A real deployment keeps the
// partitions in a shared store (Redis, a database), encrypted.
type userTokenCache struct {
	mu    sync.Mutex
	byKey map[string][]byte
}

// Replace loads the partition of hints.PartitionKey, or an empty cache.
func (c *userTokenCache) Replace(_ context.Context, u cache.Unmarshaler, hints cache.ReplaceHints) error {
	c.mu.Lock()
	b := c.byKey[hints.PartitionKey]
	c.mu.Unlock()
	if b == nil {
		b = []byte("{}")
	}
	return u.Unmarshal(b)
}

// Export saves the partition of hints.PartitionKey.
func (c *userTokenCache) Export(_ context.Context, m cache.Marshaler, hints cache.ExportHints) error {
	if hints.PartitionKey == "" {
		return nil
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[hints.PartitionKey]; !ok && len(c.byKey) >= maxEntries {
		for k := range c.byKey { // drop one at random: an example's bound
			delete(c.byKey, k)
			break
		}
	}
	c.byKey[hints.PartitionKey] = b
	return nil
}

func (c *userTokenCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byKey, key)
}

// sweep drops the expired entries of m, and the oldest when it is full.
func sweep[V any](m map[string]V, expires func(V) time.Time) {
	now := time.Now()
	for k, v := range m {
		if now.After(expires(v)) {
			delete(m, k)
		}
	}
	for len(m) >= maxEntries {
		var oldest string
		var at time.Time
		for k, v := range m {
			if oldest == "" || expires(v).Before(at) {
				oldest, at = k, expires(v)
			}
		}
		delete(m, oldest)
	}
}

// idTokenNonce returns the nonce claim of an ID token. MSAL got the token
// from the token endpoint over TLS, so its signature needs no check here;
// the nonce ties it to this sign-in.
func idTokenNonce(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Nonce
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
