package emulator

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// Token lifetimes, as Entra ID's.
const (
	accessLifetime     = 3599 * time.Second
	idTokenLifetime    = time.Hour
	refreshLifetime    = 90 * 24 * time.Hour
	spaRefreshLifetime = 24 * time.Hour
	backdate           = 5 * time.Minute
)

// Grant types the emulator serves beside entratest's.
const (
	grantAuthCode     = "authorization_code"
	grantRefresh      = "refresh_token"
	grantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	grantClientCreds  = "client_credentials"
	grantJWTBearer    = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantUserFIC      = "user_fic"
	tokenExchangeAud  = "api://AzureADTokenExchange"
	graphAppID        = "00000003-0000-0000-c000-000000000000"
	graphResourceURI  = "https://graph.microsoft.com"
	clientAssertionTy = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// refreshGrant is an issued refresh token.
type refreshGrant struct {
	clientID string
	user     *User
	scopes   []string // as granted, OIDC scopes included
	sid      string
	authTime time.Time
	expires  time.Time
}

// tokenAnswer is a token response in Entra ID's field order.
type tokenAnswer struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// serveToken answers the token endpoint: the grants of sign-in, device
// code, workload identity and agents here, the others (client credentials
// with a secret or certificate, on-behalf-of) by entratest.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request, tenantSeg string) {
	if r.Method == http.MethodOptions {
		corsPreflight(w, r)
		return
	}
	if r.Method != http.MethodPost {
		e.srv.ServeHTTP(w, r)
		return
	}
	body, form, err, ok := e.readTokenForm(w, r)
	if !ok {
		return
	}
	if err != nil {
		e.srv.ServeHTTP(w, r) // entratest refuses it in Entra's words
		return
	}
	var ans *tokenAnswer
	var terr *entratest.TokenError
	switch grant := form.Get("grant_type"); {
	case !e.homeTenant(tenantSeg) && grant != "":
		terr = e.tenantNotFound(tenantSeg)
	case grant == grantAuthCode:
		ans, terr = e.codeGrant(r, form, tenantSeg)
	case grant == grantRefresh:
		ans, terr = e.refreshTokenGrant(r, form, tenantSeg)
	case grant == grantDeviceCode || grant == "device_code":
		ans, terr = e.deviceCodeGrant(form)
	case grant == grantUserFIC:
		ans, terr = e.agentUserGrant(r, form)
	case grant == grantClientCreds && e.ownsClientCredentials(form):
		ans, terr = e.appGrant(r, form, tenantSeg)
	case grant == grantJWTBearer && e.agentByID(form.Get("client_id")) != nil:
		ans, terr = e.agentOBOGrant(r, form)
	default:
		r.Body = io.NopCloser(bytes.NewReader(body))
		e.srv.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	if terr != nil {
		e.srv.WriteTokenError(w, r, terr)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// readTokenForm reads the form of a POST to a token endpoint, at most
// maxFormBytes, and puts the body back for entratest. parseErr says the
// body is not a form; ok is false when the body was too large or could
// not be read, and the request is answered.
func (e *Emulator) readTokenForm(w http.ResponseWriter, r *http.Request) (body []byte, form url.Values, parseErr error, ok bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil || len(body) > maxFormBytes {
		e.srv.WriteTokenError(w, r, badRequest("invalid_request", 9002313, "Invalid request. Request is malformed or invalid. The body is larger than 64 KiB or could not be read."))
		return nil, nil, nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, parseErr = url.ParseQuery(string(body))
	return body, form, parseErr, true
}

// clientIDOf is the client_id of a token request: the form's, else the
// user name of its HTTP Basic credentials.
func clientIDOf(r *http.Request, form url.Values) string {
	clientID := form.Get("client_id")
	if u, _, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, _ = url.QueryUnescape(u)
	}
	return clientID
}

// corsPreflight allows a SPA's cross-origin token requests, as Entra ID
// does for redirect URIs of the SPA platform.
func corsPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// authenticate checks the credential of a client of the sign-in grants: a
// public or SPA client has none (and a SPA redeems cross-origin), a
// confidential one its secret, certificate or federated credential. It
// returns how it authenticated: azpacr "0", "1" or "2".
func (e *Emulator) authenticate(r *http.Request, form url.Values, app *App, tenantSeg string) (string, *entratest.TokenError) {
	hasCred := form.Has("client_secret") || form.Has("client_assertion")
	if _, _, ok := r.BasicAuth(); ok {
		hasCred = true
	}
	if app.Type != AppSPA && r.Header.Get("Origin") != "" {
		return "", badRequest("invalid_request", 9002326, "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type: give app '%s' \"type\": \"spa\" (a browser app), or redeem from a server.", app.ClientID)
	}
	switch app.Type {
	case AppPublic, AppSPA:
		if hasCred {
			return "", tokenError(http.StatusUnauthorized, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
		}
		if app.Type == AppSPA && r.Header.Get("Origin") == "" {
			return "", badRequest("invalid_request", 9002327, "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.")
		}
		return "0", nil
	}
	if a := form.Get("client_assertion"); a != "" {
		if iss, _ := unverifiedClaim(a, "iss"); !strings.EqualFold(iss, app.ClientID) {
			if terr := e.checkFederated(app, a); terr != nil {
				return "", terr
			}
			return "2", nil
		}
	}
	id, acr, err := e.srv.AuthenticateClient(r, form, tenantSeg)
	if err != nil {
		var te *entratest.TokenError
		if errors.As(err, &te) {
			return "", te
		}
		return "", tokenError(http.StatusUnauthorized, "invalid_client", 7000216, "The client could not be authenticated.")
	}
	if !strings.EqualFold(id, app.ClientID) {
		return "", badRequest("invalid_request", 9002313, "Invalid request. The credentials name another client than client_id.")
	}
	return acr, nil
}

// codeGrant redeems an authorization code.
func (e *Emulator) codeGrant(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswer, *entratest.TokenError) {
	app, c, acr, terr := e.redeemCode(r, form, tenantSeg, false)
	if terr != nil {
		return nil, terr
	}
	// The OpenID Connect scopes of the token request count too: MSAL adds
	// openid, profile and offline_access there, as Entra ID honours.
	scopes := slices.Clone(c.scopes)
	for _, s := range strings.Fields(form.Get("scope")) {
		switch strings.ToLower(s) {
		case "openid", "profile", "email", "offline_access":
			if !hasScope(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	g := &refreshGrant{clientID: app.ClientID, user: c.user, scopes: scopes, sid: c.sid, authTime: c.authTime}
	return e.issueUserTokens(app, g, scopes, c.nonce, acr, form.Get("client_info") == "1")
}

// redeemCode checks a request that redeems an authorization code, and
// the code: it is good once, for its client and redirect URI, with its
// PKCE verifier, at the endpoint version (v1.0 or v2.0) that issued it.
// It returns the app, the code and how the client authenticated.
func (e *Emulator) redeemCode(r *http.Request, form url.Values, tenantSeg string, v1 bool) (*App, *authCode, string, *entratest.TokenError) {
	clientID := clientIDOf(r, form)
	for _, p := range []string{"code", "redirect_uri"} {
		if form.Get(p) == "" {
			return nil, nil, "", missing(p)
		}
	}
	if clientID == "" {
		return nil, nil, "", missing("client_id")
	}
	app := e.lookupApp(clientID)
	if app == nil {
		return nil, nil, "", unknownClient(clientID, e.cfg.TenantID)
	}
	acr, terr := e.authenticate(r, form, app, tenantSeg)
	if terr != nil {
		return nil, nil, "", terr
	}
	e.mu.Lock()
	c := e.codes[form.Get("code")]
	var redeemed bool
	if c != nil {
		redeemed = c.redeemed
		c.redeemed = true
	}
	e.mu.Unlock()
	switch {
	case c == nil:
		return nil, nil, "", badRequest("invalid_grant", 9002313, "Invalid request. The provided authorization code is not one the emulator issued.")
	case redeemed:
		return nil, nil, "", badRequest("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case e.now().After(c.expires):
		return nil, nil, "", badRequest("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case !strings.EqualFold(c.clientID, app.ClientID):
		return nil, nil, "", badRequest("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid: the code was issued to another application.")
	case form.Get("redirect_uri") != c.redirectURI:
		return nil, nil, "", badRequest("invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", form.Get("redirect_uri"), c.redirectURI)
	case c.challenge != "" && form.Get("code_verifier") == "":
		return nil, nil, "", badRequest("invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE: the request has no code_verifier.")
	case c.challenge != "" && !pkceMatches(c.method, c.challenge, form.Get("code_verifier")):
		return nil, nil, "", badRequest("invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
	case c.v1 != v1:
		return nil, nil, "", badRequest("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid: the code was issued by the %s authorize endpoint; redeem it at that version's token endpoint.", endpointVersion(c.v1))
	}
	return app, c, acr, nil
}

// refreshTokenGrant redeems a refresh token: new tokens, and a new
// refresh token that replaces it.
func (e *Emulator) refreshTokenGrant(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswer, *entratest.TokenError) {
	app, g, acr, terr := e.takeRefresh(r, form, tenantSeg)
	if terr != nil {
		return nil, terr
	}
	scopes := strings.Fields(form.Get("scope"))
	if len(scopes) == 0 {
		scopes = g.scopes
	}
	return e.issueUserTokens(app, g, scopes, "", acr, form.Get("client_info") == "1")
}

// takeRefresh checks a refresh_token request and takes its refresh token
// (rotated: each is good once). It returns the app, the grant and how the
// client authenticated.
func (e *Emulator) takeRefresh(r *http.Request, form url.Values, tenantSeg string) (*App, *refreshGrant, string, *entratest.TokenError) {
	clientID := clientIDOf(r, form)
	if form.Get("refresh_token") == "" {
		return nil, nil, "", missing("refresh_token")
	}
	if clientID == "" {
		return nil, nil, "", missing("client_id")
	}
	app := e.lookupApp(clientID)
	if app == nil {
		return nil, nil, "", unknownClient(clientID, e.cfg.TenantID)
	}
	acr, terr := e.authenticate(r, form, app, tenantSeg)
	if terr != nil {
		return nil, nil, "", terr
	}
	e.mu.Lock()
	g := e.refresh[form.Get("refresh_token")]
	if g != nil && strings.EqualFold(g.clientID, app.ClientID) {
		delete(e.refresh, form.Get("refresh_token")) // rotated: each is good once
	}
	e.mu.Unlock()
	switch {
	case g == nil:
		return nil, nil, "", badRequest("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity, was already used, or its session ended (sign-out). Send a new interactive authorization request for this user and resource.")
	case !strings.EqualFold(g.clientID, app.ClientID):
		return nil, nil, "", badRequest("invalid_grant", 70000, "The refresh token was issued to another application.")
	case e.now().After(g.expires):
		return nil, nil, "", badRequest("invalid_grant", 700082, "The refresh token has expired due to inactivity. It expired at %s (a SPA's live 24 hours, others 90 days); sign the user in again.", g.expires.UTC().Format(time.RFC3339))
	}
	return app, g, acr, nil
}

func missing(p string) *entratest.TokenError {
	return badRequest("invalid_request", 900144, "The request body must contain the following parameter: '%s'.", p)
}

func unknownClient(clientID, tid string) *entratest.TokenError {
	return badRequest("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. Register it in the emulator's config file (apps).", clientID, tid)
}

// resource is what a set of scopes asks a token for.
type resource struct {
	aud      string // the access token's aud
	version  string
	clientID string // the resource app's client ID, for user roles; "" for Graph
	prefix   string // as requested, such as "api://{id}/"
	graph    bool
}

// resolveScopes finds the one resource of scopes and its scope names, for
// app.
func (e *Emulator) resolveScopes(scopes []string, app *App) (*resource, []string, *entratest.TokenError) {
	var res *resource
	var names []string
	for _, sc := range scopes {
		switch strings.ToLower(sc) {
		case "openid", "profile", "email", "offline_access":
			continue
		}
		prefix, name := "", sc
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			prefix, name = sc[:i+1], sc[i+1:]
		}
		r := e.resourceOf(strings.TrimSuffix(prefix, "/"))
		if r == nil {
			return nil, nil, badRequest("invalid_resource", 500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. (The emulator serves its API api://%s and the apps of its config file.)", strings.TrimSuffix(prefix, "/"), e.cfg.TenantID, e.cfg.ClientID)
		}
		r.prefix = prefix
		if res != nil && res.aud != r.aud {
			return nil, nil, badRequest("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid: scopes of more than one resource (%s and %s) were requested. Ask for one resource's scopes at a time.", res.aud, r.aud)
		}
		res = r
		if name == ".default" {
			if !r.graph && strings.EqualFold(r.clientID, e.cfg.ClientID) {
				names = append(names, app.Scopes...)
				if len(app.Scopes) == 0 {
					names = append(names, e.cfg.APIScopes...)
				}
			}
			continue
		}
		if !r.graph && strings.EqualFold(r.clientID, e.cfg.ClientID) && e.apiScopes != nil && !e.apiScopes[strings.ToLower(name)] {
			return nil, nil, badRequest("invalid_scope", 65005, "The application '%s' asked for scope '%s' that doesn't exist on the resource '%s'. Add it to api_scopes in the emulator's config file.", app.ClientID, name, e.cfg.ClientID)
		}
		names = append(names, name)
	}
	if res == nil {
		// Only OpenID Connect scopes: Entra ID answers a token for Microsoft
		// Graph, which the userinfo endpoint takes.
		res = &resource{aud: graphAppID, version: "1.0", graph: true, prefix: graphResourceURI + "/"}
		names = []string{"openid", "profile", "email", "User.Read"}
	}
	return res, names, nil
}

// resourceOf resolves a resource identifier ("api://{id}", "{id}",
// Graph's), or nil.
func (e *Emulator) resourceOf(id string) *resource {
	switch strings.ToLower(id) {
	case "", graphResourceURI, graphAppID, "https://graph.microsoft.com/":
		return &resource{aud: graphAppID, version: "1.0", graph: true}
	}
	bare := strings.TrimPrefix(id, "api://")
	v := ""
	switch {
	case strings.EqualFold(bare, e.cfg.ClientID):
		v = e.cfg.TokenVersion
		bare = e.cfg.ClientID
	case e.lookupApp(bare) != nil:
		a := e.lookupApp(bare)
		bare = a.ClientID
		v = cmp.Or(a.TokenVersion, e.cfg.TokenVersion)
	default:
		return nil
	}
	aud := bare
	if v == "1.0" {
		aud = id // v1.0 tokens carry the resource as requested
	}
	return &resource{aud: aud, version: v, clientID: bare}
}

// issueUserTokens issues a user's access token for the scopes' resource,
// an ID token with openid, a refresh token with offline_access, and
// client_info when asked.
func (e *Emulator) issueUserTokens(app *App, g *refreshGrant, scopes []string, nonce, acr string, wantClientInfo bool) (*tokenAnswer, *entratest.TokenError) {
	res, names, terr := e.resolveScopes(scopes, app)
	if terr != nil {
		return nil, terr
	}
	now := e.now()
	u := g.user
	tok := e.userAccessToken(app, u, res, names, acr, now)
	ans := &tokenAnswer{TokenType: "Bearer", ExpiresIn: int(accessLifetime / time.Second), ExtExpiresIn: int(accessLifetime / time.Second), AccessToken: e.srv.Mint(tok)}
	granted := make([]string, 0, len(names)+3)
	for _, n := range names {
		granted = append(granted, res.prefix+n)
	}
	if res.graph {
		granted = []string{"openid", "profile", "email", graphResourceURI + "/User.Read"}
	}
	if hasScope(scopes, "openid") {
		ans.IDToken = e.idToken(app, g, nonce, hasScope(scopes, "email"))
	}
	if hasScope(scopes, "offline_access") {
		ans.RefreshToken = e.newRefreshToken(app, g, scopes)
		granted = append(granted, "offline_access")
	}
	for _, s := range []string{"openid", "profile", "email"} {
		if hasScope(scopes, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	ans.Scope = strings.Join(granted, " ")
	if wantClientInfo {
		ans.ClientInfo = e.clientInfo(u)
	}
	return ans, nil
}

// newRefreshToken issues a refresh token of the grant g for these
// scopes (offline_access added).
func (e *Emulator) newRefreshToken(app *App, g *refreshGrant, scopes []string) string {
	life := refreshLifetime
	if app.Type == AppSPA {
		life = spaRefreshLifetime
	}
	rt := "1.AX" + randomString(96)
	ng := *g
	ng.scopes = slices.Clone(scopes)
	if !hasScope(ng.scopes, "offline_access") {
		ng.scopes = append(ng.scopes, "offline_access")
	}
	// A SPA's refresh tokens end 24 hours after the sign-in, whatever
	// the rotations; others slide.
	if app.Type != AppSPA || g.expires.IsZero() {
		ng.expires = e.now().Add(life)
	}
	e.mu.Lock()
	e.sweepLocked()
	e.refresh[rt] = &ng
	e.mu.Unlock()
	return rt
}

// idToken is a v2.0 ID token of the grant's user for app, as Entra ID's
// v2.0 endpoint issues them: sub pairwise per app, roles the user's app
// roles in app, nonce as sent at sign-in.
func (e *Emulator) idToken(app *App, g *refreshGrant, nonce string, email bool) string {
	now := e.now()
	u := g.user
	claims := map[string]any{"azp": nil, "azpacr": nil, "sid": g.sid}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if email && u.Email != "" {
		claims["email"] = u.Email
	}
	return e.srv.Mint(entratest.Token{
		Version:           "2.0",
		TenantID:          e.cfg.TenantID,
		Audience:          app.ClientID,
		ObjectID:          u.ObjectID,
		Name:              u.Name,
		PreferredUsername: u.UPN,
		Roles:             u.rolesFor(app.ClientID),
		Groups:            u.Groups,
		IssuedAt:          now.Add(-backdate),
		ExpiresAt:         now.Add(idTokenLifetime),
		Claims:            claims,
	})
}

// rolesFor returns the app roles assigned to u in the app clientID.
func (u *User) rolesFor(clientID string) []string {
	for k, v := range u.Roles {
		if strings.EqualFold(k, clientID) {
			return v
		}
	}
	return nil
}

// clientInfo is Entra ID's client_info: base64url JSON of the user's
// home account (uid, utid).
func (e *Emulator) clientInfo(u *User) string {
	b, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": e.cfg.TenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func acrName(version string) string {
	if version == "1.0" {
		return "appidacr"
	}
	return "azpacr"
}

func hasScope(scopes []string, s string) bool {
	return slices.ContainsFunc(scopes, func(x string) bool { return strings.EqualFold(x, s) })
}

// serveUserinfo answers the OpenID Connect userinfo endpoint for an
// access token the emulator issued for Microsoft Graph (sign in with only
// openid, profile and email), as Entra ID's.
func (e *Emulator) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		corsPreflight(w, r)
		return
	}
	refuse := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "InvalidAuthenticationToken", "message": desc}})
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		refuse("Access token is empty.")
		return
	}
	c, err := e.verifyOwn(strings.TrimSpace(tok))
	if err != nil {
		refuse("Access token validation failure: " + err.Error())
		return
	}
	if aud, _ := c["aud"].(string); aud != graphAppID && aud != graphResourceURI {
		refuse("Access token validation failure. Invalid audience: userinfo takes a token for Microsoft Graph (sign in with openid profile email only).")
		return
	}
	oid, _ := c["oid"].(string)
	u := e.lookupUser(oid)
	if u == nil {
		refuse("Access token validation failure: the token's user is not one of the emulator's users.")
		return
	}
	sub, _ := c["sub"].(string)
	info := map[string]any{"sub": sub, "name": u.Name, "family_name": lastWord(u.Name), "given_name": firstWord(u.Name), "picture": "https://graph.microsoft.com/v1.0/me/photo/$value"}
	if u.Email != "" {
		info["email"] = u.Email
	}
	writeJSON(w, http.StatusOK, info)
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) < 2 {
		return ""
	}
	return f[len(f)-1]
}

// verifyOwn verifies a token the emulator signed (any of its keys), and
// its time range, and returns its claims.
func (e *Emulator) verifyOwn(tok string) (map[string]any, error) {
	h, c, signed, sig, err := splitJWT(tok)
	if err != nil {
		return nil, err
	}
	if h.Alg != "RS256" {
		return nil, errors.New("the token is not signed RS256")
	}
	pub := e.srv.PublicKey(h.Kid)
	if pub == nil {
		return nil, errors.New("the token is not signed by the emulator")
	}
	if err := verifyRS256(pub, signed, sig); err != nil {
		return nil, err
	}
	iss, _ := c["iss"].(string)
	if iss != e.srv.Issuer("2.0", e.cfg.TenantID) && iss != e.srv.Issuer("1.0", e.cfg.TenantID) {
		return nil, errors.New("the token's issuer is not the emulator's tenant")
	}
	if err := e.checkTimes(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkTimes checks exp and nbf with five minutes of skew.
func (e *Emulator) checkTimes(c map[string]any) error {
	now := e.now()
	exp, ok := numeric(c["exp"])
	if !ok || now.After(exp.Add(5*time.Minute)) {
		return errors.New("the token expired")
	}
	if nbf, ok := numeric(c["nbf"]); ok && now.Before(nbf.Add(-5*time.Minute)) {
		return errors.New("the token is not valid yet")
	}
	return nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// splitJWT decodes a compact JWS without verifying it.
func splitJWT(tok string) (jwtHeader, map[string]any, string, []byte, error) {
	var h jwtHeader
	parts := strings.Split(tok, ".")
	if len(tok) > 16<<10 || len(parts) != 3 {
		return h, nil, "", nil, errors.New("the token is not a compact JWS")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return h, nil, "", nil, errors.New("the token is not base64url")
	}
	var c map[string]any
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil || c == nil {
		return h, nil, "", nil, errors.New("the token's header or payload is not a JSON object")
	}
	return h, c, parts[0] + "." + parts[1], sig, nil
}

// unverifiedClaim reads a string claim of a JWT without verifying it, to
// route a request; it is verified later.
func unverifiedClaim(tok, name string) (string, bool) {
	_, c, _, _, err := splitJWT(tok)
	if err != nil {
		return "", false
	}
	s, ok := c[name].(string)
	return s, ok
}

func verifyRS256(pub *rsa.PublicKey, signed string, sig []byte) error {
	sum := sha256.Sum256([]byte(signed))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return errors.New("the token's signature does not verify")
	}
	return nil
}

func numeric(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func sha256Sum(s string) []byte {
	b := sha256.Sum256([]byte(s))
	return b[:]
}

// aadsts writes a description as Entra ID does.
func aadsts(code int, desc string) string { return fmt.Sprintf("AADSTS%d: %s", code, desc) }

func itoa(n int) string { return strconv.Itoa(n) }

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// audienceHas reports whether aud (a string or a list) holds want.
func audienceHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return strings.EqualFold(a, want)
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && strings.EqualFold(s, want) {
				return true
			}
		}
	}
	return false
}

// userAccessToken is the access token a sign-in issues to app for user u:
// for the resource res with the granted scope names, in the version res's
// app is configured for, at either endpoint (v2.0 or v1.0).
func (e *Emulator) userAccessToken(app *App, u *User, res *resource, names []string, acr string, now time.Time) entratest.Token {
	tok := entratest.Token{
		Version:           res.version,
		TenantID:          e.cfg.TenantID,
		Audience:          res.aud,
		ClientID:          app.ClientID,
		ObjectID:          u.ObjectID,
		Name:              u.Name,
		PreferredUsername: u.UPN,
		Scopes:            names,
		Groups:            u.Groups,
		IssuedAt:          now.Add(-backdate),
		ExpiresAt:         now.Add(accessLifetime),
		Claims:            map[string]any{acrName(res.version): acr},
	}
	if !res.graph {
		tok.Roles = u.rolesFor(res.clientID)
	}
	return tok
}
