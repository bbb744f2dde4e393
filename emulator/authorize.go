package emulator

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// Lifetimes of the sign-in flows.
const (
	codeLifetime    = 10 * time.Minute
	ticketLifetime  = 30 * time.Minute
	sessionLifetime = 24 * time.Hour
	sessionCookie   = "emulator_session"
	maxFormBytes    = 64 << 10
	maxPending      = 10000 // bound on codes, tickets, sessions and device flows each
)

// authRequest is a checked authorization request.
type authRequest struct {
	app          *App
	redirectURI  string
	responseMode string
	state        string
	nonce        string
	prompt       string
	loginHint    string
	scopes       []string // as requested, OIDC scopes included
	challenge    string
	method       string
	params       url.Values // the request's own parameters, to repeat in the page's form
	v1           bool       // the v1.0 endpoint: resource instead of scopes
	resource     string     // v1.0: the resource as requested
}

// authCode is an issued authorization code.
type authCode struct {
	clientID, redirectURI string
	scopes                []string
	nonce                 string
	challenge, method     string
	user                  *User
	sid                   string
	authTime              time.Time
	expires               time.Time
	redeemed              bool
	v1                    bool   // issued by the v1.0 endpoint, redeemed there only
	resource              string // v1.0: the resource of the authorization request
}

// session is a signed-in browser (cookie) or, for flows without a
// browser, a sign-in event whose refresh tokens sign-out ends.
type session struct {
	user     *User
	sid      string
	authTime time.Time
	expires  time.Time
}

// authError is a refusal of an authorization request: shown on a page
// when the redirect URI cannot be trusted, else sent to it.
type authError struct {
	oauthErr string
	code     int
	desc     string
	page     bool
}

// serveAuthorize answers /{tenant}/oauth2/v2.0/authorize, or with v1
// /{tenant}/oauth2/authorize (GET, or POST from the sign-in page).
func (e *Emulator) serveAuthorize(w http.ResponseWriter, r *http.Request, tenantSeg string, v1 bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		e.errorPage(w, http.StatusMethodNotAllowed, "AADSTS900561: The endpoint only accepts GET and POST requests.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		e.errorPage(w, http.StatusBadRequest, "AADSTS9002313: Invalid request. Request is malformed or invalid.")
		return
	}
	req, aerr := e.parseAuthRequest(tenantSeg, r.Form, v1)
	if aerr != nil {
		if aerr.page || req == nil {
			e.errorPage(w, http.StatusBadRequest, aadsts(aerr.code, aerr.desc))
			return
		}
		e.redirectError(w, req, aerr)
		return
	}
	sess := e.sessionOf(r)

	if action := r.PostForm.Get("emulator_action"); action != "" {
		if !e.useTicket(r.PostForm.Get("emulator_ticket")) {
			e.errorPage(w, http.StatusBadRequest, "This sign-in page expired or was already used. Go back to the application and sign in again.")
			return
		}
		if action != "accept" {
			e.redirectError(w, req, &authError{oauthErr: "access_denied", code: 65004, desc: "User declined to consent to access the app."})
			return
		}
		u := e.lookupUser(r.PostForm.Get("emulator_user"))
		if u == nil {
			e.signInPage(w, req, nil, "Choose an account to sign in.")
			return
		}
		sess = e.startSession(w, u)
		e.issueCode(w, req, sess)
		return
	}

	hinted := e.hintedUser(req.loginHint)
	switch {
	case req.prompt == "none":
		switch {
		case sess != nil && (hinted == nil || hinted == sess.user):
			e.issueCode(w, req, sess)
		case e.cfg.NonInteractive:
			e.issueCode(w, req, e.startSession(w, cmpUser(hinted, e.defaultUser)))
		default:
			e.redirectError(w, req, &authError{oauthErr: "login_required", code: 50058, desc: "A silent sign-in request was sent but no user is signed in."})
		}
	case e.cfg.NonInteractive:
		if req.loginHint != "" && hinted == nil {
			e.redirectError(w, req, &authError{oauthErr: "invalid_request", code: 50034, desc: "The user account " + req.loginHint + " does not exist in the emulator's directory. Add it to users in the config file."})
			return
		}
		e.issueCode(w, req, e.startSession(w, cmpUser(hinted, e.defaultUser)))
	case sess != nil && req.prompt == "" && (hinted == nil || hinted == sess.user):
		// Single sign-on: the browser is signed in.
		e.issueCode(w, req, sess)
	default:
		var pre *User
		if sess != nil {
			pre = sess.user
		}
		e.signInPage(w, req, cmpUser(hinted, pre), "")
	}
}

func cmpUser(a, b *User) *User {
	if a != nil {
		return a
	}
	return b
}

// hintedUser is the user a login_hint names (upn, or object ID), or nil.
func (e *Emulator) hintedUser(hint string) *User {
	if hint == "" {
		return nil
	}
	return e.lookupUser(hint)
}

// parseAuthRequest checks an authorization request as Entra ID does: the
// client and its redirect URI first (refused on a page), then the rest
// (refused to the redirect URI). A v1.0 request names its resource
// (resource) rather than scopes.
func (e *Emulator) parseAuthRequest(tenantSeg string, p url.Values, v1 bool) (*authRequest, *authError) {
	if !e.homeTenant(tenantSeg) {
		te := e.tenantNotFound(tenantSeg)
		return nil, &authError{code: te.AADSTS, desc: te.Description, page: true}
	}
	clientID := p.Get("client_id")
	if clientID == "" {
		return nil, &authError{code: 900144, desc: "The request body must contain the following parameter: 'client_id'.", page: true}
	}
	app := e.lookupApp(clientID)
	if app == nil {
		return nil, &authError{code: 700016, desc: "Application with identifier '" + clientID + "' was not found in the directory '" + e.cfg.TenantID + "'. Register it in the emulator's config file (apps).", page: true}
	}
	redirect := p.Get("redirect_uri")
	if redirect == "" && len(app.RedirectURIs) > 0 {
		redirect = app.RedirectURIs[0]
	}
	if redirect == "" || !redirectAllowed(app, redirect) {
		return nil, &authError{code: 50011, desc: "The redirect URI '" + redirect + "' specified in the request does not match the redirect URIs configured for the application '" + app.ClientID + "'. Make sure the redirect URI sent in the request matches one added to your application in the emulator's config file (redirect_uris).", page: true}
	}
	req := &authRequest{
		app:          app,
		redirectURI:  redirect,
		responseMode: p.Get("response_mode"),
		state:        p.Get("state"),
		nonce:        p.Get("nonce"),
		prompt:       p.Get("prompt"),
		loginHint:    p.Get("login_hint"),
		scopes:       strings.Fields(p.Get("scope")),
		challenge:    p.Get("code_challenge"),
		method:       p.Get("code_challenge_method"),
		params:       url.Values{},
		v1:           v1,
		resource:     p.Get("resource"),
	}
	for k, v := range p {
		if !strings.HasPrefix(k, "emulator_") {
			req.params[k] = v
		}
	}
	switch req.responseMode {
	case "":
		req.responseMode = "query"
	case "query", "fragment", "form_post":
	default:
		req.responseMode = "query"
		return req, &authError{oauthErr: "invalid_request", code: 900144, desc: "The response_mode '" + p.Get("response_mode") + "' is not supported: use query, fragment or form_post."}
	}
	if rt := p.Get("response_type"); rt != "code" {
		return req, &authError{oauthErr: "unsupported_response_type", code: 700054, desc: "response_type '" + rt + "' is not enabled for the application: the emulator serves the authorization code flow, response_type=code."}
	}
	switch req.prompt {
	case "", "login", "select_account", "consent", "none":
	default:
		return req, &authError{oauthErr: "invalid_request", code: 90023, desc: "Invalid prompt value '" + req.prompt + "': use login, select_account, consent or none."}
	}
	public := app.Type == AppPublic || app.Type == AppSPA
	switch {
	case req.challenge == "" && public:
		return req, &authError{oauthErr: "invalid_request", code: 9002325, desc: "Proof Key for Code Exchange is required for cross-origin authorization code redemption: a " + app.Type + " client sends code_challenge and code_challenge_method=S256."}
	case req.challenge != "" && req.method == "" && public, req.method == "plain" && public:
		return req, &authError{oauthErr: "invalid_request", code: 9002325, desc: "A " + app.Type + " client must use code_challenge_method=S256."}
	case req.method != "" && req.method != "S256" && req.method != "plain":
		return req, &authError{oauthErr: "invalid_request", code: 50148, desc: "code_challenge_method '" + req.method + "' is not supported: use S256."}
	case req.challenge != "" && req.method == "":
		req.method = "plain"
	}
	if v1 {
		if req.resource != "" {
			if _, _, terr := e.v1Resource(req.resource, app); terr != nil {
				return req, &authError{oauthErr: terr.OAuthError, code: terr.AADSTS, desc: terr.Description}
			}
		}
		return req, nil
	}
	if _, _, terr := e.resolveScopes(req.scopes, app); terr != nil {
		return req, &authError{oauthErr: terr.OAuthError, code: terr.AADSTS, desc: terr.Description}
	}
	return req, nil
}

// redirectAllowed reports whether uri is one of the app's redirect URIs.
// A loopback http URI matches whatever its port, as Entra ID allows: a
// registered http://localhost/cb accepts http://localhost:53123/cb.
func redirectAllowed(app *App, uri string) bool {
	if slices.Contains(app.RedirectURIs, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Fragment != "" || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
		return false
	}
	for _, reg := range app.RedirectURIs {
		ru, err := url.Parse(reg)
		if err != nil || ru.Scheme != "http" || !strings.EqualFold(ru.Hostname(), u.Hostname()) {
			continue
		}
		if strings.TrimSuffix(ru.Path, "/") == strings.TrimSuffix(u.Path, "/") && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// issueCode answers the request with a new authorization code of the
// session's user.
func (e *Emulator) issueCode(w http.ResponseWriter, req *authRequest, sess *session) {
	code := randomString(48)
	e.mu.Lock()
	e.sweepLocked()
	e.codes[code] = &authCode{
		clientID: req.app.ClientID, redirectURI: req.redirectURI, scopes: req.scopes, nonce: req.nonce,
		challenge: req.challenge, method: req.method, user: sess.user, sid: sess.sid, authTime: sess.authTime,
		expires: e.now().Add(codeLifetime), v1: req.v1, resource: req.resource,
	}
	e.mu.Unlock()
	v := url.Values{"code": {code}, "session_state": {sess.sid}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	if req.params.Get("client_info") == "1" {
		v.Set("client_info", e.clientInfo(sess.user))
	}
	e.respond(w, req, v)
}

// redirectError sends a refusal to the app's redirect URI.
func (e *Emulator) redirectError(w http.ResponseWriter, req *authRequest, ae *authError) {
	v := url.Values{"error": {ae.oauthErr}, "error_description": {aadsts(ae.code, ae.desc)}, "error_codes": {itoa(ae.code)}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	e.respond(w, req, v)
}

// respond sends v to the redirect URI in the request's response mode.
func (e *Emulator) respond(w http.ResponseWriter, req *authRequest, v url.Values) {
	w.Header().Set("Cache-Control", "no-store, no-cache")
	switch req.responseMode {
	case "form_post":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Frame-Options", "DENY")
		type field struct{ Name, Value string }
		var fields []field
		for _, k := range sortedKeys(v) {
			fields = append(fields, field{k, v.Get(k)})
		}
		_ = formPostPage.Execute(w, map[string]any{"Action": req.redirectURI, "Fields": fields})
	case "fragment":
		http.Redirect(w, &http.Request{Method: http.MethodGet}, stripFragment(req.redirectURI)+"#"+v.Encode(), http.StatusFound)
	default:
		u, _ := url.Parse(req.redirectURI)
		q := u.Query()
		for k, vs := range v {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, &http.Request{Method: http.MethodGet}, u.String(), http.StatusFound)
	}
}

func stripFragment(u string) string {
	before, _, _ := strings.Cut(u, "#")
	return before
}

// startSession signs u in: a new session (sid), kept in a cookie for
// browsers.
func (e *Emulator) startSession(w http.ResponseWriter, u *User) *session {
	id := randomString(32)
	now := e.now()
	s := &session{user: u, sid: entratest.NewGUID(), authTime: now, expires: now.Add(sessionLifetime)}
	e.mu.Lock()
	e.sweepLocked()
	e.sessions[id] = s
	e.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Expires: s.expires})
	return s
}

// sessionOf returns the browser's session, or nil.
func (e *Emulator) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[c.Value]
	if s == nil || e.now().After(s.expires) {
		return nil
	}
	return s
}

// newTicket returns a one-use ticket for a page's form: a form posted
// without one (from another site) is refused.
func (e *Emulator) newTicket() string {
	t := randomString(24)
	e.mu.Lock()
	e.sweepLocked()
	e.tickets[t] = e.now().Add(ticketLifetime)
	e.mu.Unlock()
	return t
}

func (e *Emulator) useTicket(t string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	exp, ok := e.tickets[t]
	delete(e.tickets, t)
	return ok && !e.now().After(exp)
}

// sweepLocked keeps the pending state bounded: a map at its bound drops
// what expired, then arbitrary entries down to half the bound, so that
// abandoned flows cannot grow memory and a sweep runs once per half bound
// of insertions.
func (e *Emulator) sweepLocked() {
	now := e.now()
	sweep(e.codes, maxPending, func(c *authCode) bool { return now.After(c.expires) })
	sweep(e.tickets, maxPending, func(t time.Time) bool { return now.After(t) })
	sweep(e.sessions, maxPending, func(s *session) bool { return now.After(s.expires) })
	sweep(e.devices, maxPending, func(d *deviceFlow) bool { return now.After(d.expires) })
	sweep(e.refresh, 10*maxPending, func(g *refreshGrant) bool { return now.After(g.expires) })
}

func sweep[V any](m map[string]V, bound int, expired func(V) bool) {
	if len(m) < bound {
		return
	}
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) <= bound/2 {
			return
		}
		delete(m, k)
	}
}

// serveLogout answers /{tenant}/oauth2/v2.0/logout: it ends the browser's
// session (or the one id_token_hint names) and its refresh tokens, then
// sends the browser to post_logout_redirect_uri if an app registered it.
func (e *Emulator) serveLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	_ = r.ParseForm()
	var sids []string
	if c, err := r.Cookie(sessionCookie); err == nil {
		e.mu.Lock()
		if s := e.sessions[c.Value]; s != nil {
			sids = append(sids, s.sid)
			delete(e.sessions, c.Value)
		}
		e.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	}
	var hintAud string
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		if c, err := e.verifyOwn(hint); err == nil {
			if sid, _ := c["sid"].(string); sid != "" {
				sids = append(sids, sid)
			}
			hintAud, _ = c["aud"].(string)
		}
	}
	e.endSessions(sids)
	target := r.Form.Get("post_logout_redirect_uri")
	if target != "" && e.logoutRedirectAllowed(target, cmp.Or(r.Form.Get("client_id"), hintAud)) {
		if st := r.Form.Get("state"); st != "" {
			u, _ := url.Parse(target)
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
			target = u.String()
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = messagePage.Execute(w, map[string]any{"Title": "You signed out", "Message": "You signed out of your account. It's a good idea to close all browser windows."})
}

// endSessions ends the sessions and every refresh token issued in them.
func (e *Emulator) endSessions(sids []string) {
	if len(sids) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, s := range e.sessions {
		if slices.Contains(sids, s.sid) {
			delete(e.sessions, k)
		}
	}
	for k, g := range e.refresh {
		if slices.Contains(sids, g.sid) {
			delete(e.refresh, k)
		}
	}
}

// logoutRedirectAllowed reports whether a post-logout URI is a redirect
// URI of the app (or, with no app named, of any app).
func (e *Emulator) logoutRedirectAllowed(uri, clientID string) bool {
	if clientID != "" {
		app := e.lookupApp(clientID)
		return app != nil && redirectAllowed(app, uri)
	}
	for _, a := range e.apps {
		if redirectAllowed(a, uri) {
			return true
		}
	}
	return false
}

// signInPage shows the accessible sign-in and consent page.
func (e *Emulator) signInPage(w http.ResponseWriter, req *authRequest, selected *User, problem string) {
	type field struct{ Name, Value string }
	var fields []field
	for _, k := range sortedKeys(req.params) {
		for _, v := range req.params[k] {
			fields = append(fields, field{k, v})
		}
	}
	if selected == nil {
		selected = e.defaultUser
	}
	display := req.scopes
	if req.v1 && req.resource != "" {
		display = append(slices.Clone(display), "Access "+req.resource)
	}
	data := map[string]any{
		"App":      req.app.Name,
		"Action":   "",
		"Fields":   fields,
		"Users":    e.users,
		"Selected": selected.ObjectID,
		"Scopes":   display,
		"Problem":  problem,
		"Ticket":   e.newTicket(),
		"Consent":  req.prompt == "consent",
	}
	pageHeaders(w)
	_ = signInPage.Execute(w, data)
}

// pageHeaders are the headers of the emulator's HTML pages.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

func (e *Emulator) errorPage(w http.ResponseWriter, status int, msg string) {
	pageHeaders(w)
	w.WriteHeader(status)
	_ = messagePage.Execute(w, map[string]any{"Title": "Sorry, but we're having trouble signing you in.", "Message": msg})
}

// pkceMatches checks a code_verifier against the code's challenge.
func pkceMatches(method, challenge, verifier string) bool {
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		verifier = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(verifier), []byte(challenge)) == 1
}

const pageStyle = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}
fieldset{border:1px solid #8a8886;margin:1rem 0;padding:.5rem 1rem}legend{font-weight:600}
.choice{margin:.4rem 0}button{font:inherit;padding:.4rem 1.2rem;margin-right:.5rem}
button:focus,input:focus{outline:3px solid #0067b8;outline-offset:2px}.note{color:#605e5c}.problem{color:#a4262c;font-weight:600}`

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to {{.App}} – entraguard emulator</title><style>` + pageStyle + `</style></head>
<body><main>
<h1>Sign in to {{.App}}</h1>
<p class="note">entraguard emulator: a local Entra ID for development. No password is asked.</p>
{{if .Problem}}<p class="problem" role="alert">{{.Problem}}</p>{{end}}
<form method="post">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" name="emulator_ticket" value="{{.Ticket}}">
<fieldset><legend>Pick an account</legend>
{{range $i, $u := .Users}}<div class="choice"><input type="radio" name="emulator_user" id="user-{{$i}}" value="{{$u.ObjectID}}"{{if eq $u.ObjectID $.Selected}} checked{{end}}>
<label for="user-{{$i}}">{{$u.Name}} ({{$u.UPN}})</label></div>
{{end}}</fieldset>
<fieldset><legend>{{.App}} asks for these permissions</legend>
{{if .Scopes}}<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>Sign you in and read your profile.</p>{{end}}
<p class="note">Accepting gives consent{{if .Consent}} again, as the app asked{{end}}.</p>
</fieldset>
<button type="submit" name="emulator_action" value="accept">Accept and sign in</button>
<button type="submit" name="emulator_action" value="cancel">Cancel</button>
</form></main></body></html>
`))

var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – entraguard emulator</title><style>` + pageStyle + `</style></head>
<body><main><h1>{{.Title}}</h1><p role="status">{{.Message}}</p></main></body></html>
`))

// formPostPage sends the answer to the app's redirect URI by a form post:
// at once with JavaScript, with the Continue button without.
var formPostPage = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working… – entraguard emulator</title></head>
<body onload="document.forms[0].submit()"><main>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Script is off: press Continue to go back to the application.</p></noscript>
<button type="submit">Continue</button>
</form></main></body></html>
`))
