package emulator

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// The v1.0 endpoints: /{tenant}/oauth2/authorize (the sign-in of
// authorize.go, with resource instead of scopes) and /{tenant}/oauth2/token
// (authorization code, refresh token and client credentials, each with a
// resource), answered in the v1.0 shape: string lifetimes, expires_on,
// not_before and resource in the answer, a refresh token with every
// sign-in, and v1.0 ID tokens (iss https://sts.windows.net/{tid}/, upn and
// unique_name, no preferred_username).

// tokenAnswerV1 is a v1.0 token response in Entra ID's field order; its
// numbers are strings, as Entra ID's v1.0 endpoint writes them.
type tokenAnswerV1 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

func endpointVersion(v1 bool) string {
	if v1 {
		return "v1.0"
	}
	return "v2.0"
}

// v1Resource resolves a v1.0 resource (an application ID URI such as
// "api://{id}", a client ID, or Microsoft Graph's) for app: the
// resource, and the delegated permissions its tokens carry (those the app
// was granted, as "{resource}/.default" in v2.0).
func (e *Emulator) v1Resource(id string, app *App) (*resource, []string, *entratest.TokenError) {
	id = strings.TrimSuffix(strings.TrimSpace(id), "/")
	if id == "" || strings.ContainsAny(id, " \t\r\n") {
		return nil, nil, badRequest("invalid_resource", 500011, "The resource principal named '%s' was not found in the tenant named %s. Send resource: the API's application ID URI (api://%s) or client ID, or https://graph.microsoft.com.", id, e.cfg.TenantID, e.cfg.ClientID)
	}
	res, names, terr := e.resolveScopes([]string{id + "/.default"}, app)
	if terr != nil {
		return nil, nil, terr
	}
	if res.graph {
		// v1.0 tokens carry the resource as requested.
		res.aud = id
		names = []string{"User.Read"}
	}
	return res, names, nil
}

// serveTokenV1 answers /{tenant}/oauth2/token.
func (e *Emulator) serveTokenV1(w http.ResponseWriter, r *http.Request, tenantSeg string) {
	if r.Method == http.MethodOptions {
		corsPreflight(w, r)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		e.srv.WriteTokenError(w, r, badRequest("invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method))
		return
	}
	_, form, err, ok := e.readTokenForm(w, r)
	if !ok {
		return
	}
	if err != nil {
		e.srv.WriteTokenError(w, r, badRequest("invalid_request", 9002313, "Invalid request. Request is malformed or invalid: the body is not a form (application/x-www-form-urlencoded)."))
		return
	}
	var ans *tokenAnswerV1
	var terr *entratest.TokenError
	switch grant := form.Get("grant_type"); {
	case grant == "":
		terr = missing("grant_type")
	case !e.homeTenant(tenantSeg):
		terr = e.tenantNotFound(tenantSeg)
	case grant == grantAuthCode:
		ans, terr = e.codeGrantV1(r, form, tenantSeg)
	case grant == grantRefresh:
		ans, terr = e.refreshGrantV1(r, form, tenantSeg)
	case grant == grantClientCreds:
		ans, terr = e.appGrantV1(r, form, tenantSeg)
	default:
		terr = badRequest("unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s': the emulator's v1.0 token endpoint serves authorization_code, refresh_token and client_credentials; use /oauth2/v2.0/token for the others.", grant)
	}
	if terr != nil {
		e.srv.WriteTokenError(w, r, terr)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// codeGrantV1 redeems a code of the v1.0 authorize endpoint: an access
// token for the resource (of the token request, else of the authorization
// request, else Microsoft Graph), a v1.0 ID token and a refresh token.
func (e *Emulator) codeGrantV1(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswerV1, *entratest.TokenError) {
	app, c, acr, terr := e.redeemCode(r, form, tenantSeg, true)
	if terr != nil {
		return nil, terr
	}
	resID := cmp.Or(form.Get("resource"), c.resource, graphResourceURI)
	g := &refreshGrant{clientID: app.ClientID, user: c.user, sid: c.sid, authTime: c.authTime}
	return e.issueUserTokensV1(app, g, resID, c.nonce, acr)
}

// refreshGrantV1 redeems a refresh token (of either endpoint) for the
// resource of the request, else the one it was issued for.
func (e *Emulator) refreshGrantV1(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswerV1, *entratest.TokenError) {
	app, g, acr, terr := e.takeRefresh(r, form, tenantSeg)
	if terr != nil {
		return nil, terr
	}
	resID := form.Get("resource")
	if resID == "" {
		res, _, terr := e.resolveScopes(g.scopes, app)
		if terr != nil {
			return nil, terr
		}
		resID = cmp.Or(strings.TrimSuffix(res.prefix, "/"), graphResourceURI)
	}
	return e.issueUserTokensV1(app, g, resID, "", acr)
}

// issueUserTokensV1 answers a v1.0 sign-in: the user's access token for
// resID in the version its app is configured for, a v1.0 ID token and a
// refresh token (the v1.0 endpoint always issues one).
func (e *Emulator) issueUserTokensV1(app *App, g *refreshGrant, resID, nonce, acr string) (*tokenAnswerV1, *entratest.TokenError) {
	res, names, terr := e.v1Resource(resID, app)
	if terr != nil {
		return nil, terr
	}
	now := e.now()
	u := g.user
	tok := e.userAccessToken(app, u, res, names, acr, now)
	// The refresh token serves either endpoint: at v2.0 it stands for the
	// resource's .default scope.
	scopes := []string{"openid", "profile", "offline_access", strings.TrimSuffix(resID, "/") + "/.default"}
	ans := v1Answer(e.srv.Mint(tok), resID, now)
	ans.Scope = strings.Join(names, " ")
	ans.RefreshToken = e.newRefreshToken(app, g, scopes)
	ans.IDToken = e.idTokenV1(app, g, nonce)
	return ans, nil
}

// appGrantV1 answers client credentials with a resource: an app-only
// token for it, in the version its app is configured for.
func (e *Emulator) appGrantV1(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswerV1, *entratest.TokenError) {
	clientID := clientIDOf(r, form)
	if clientID == "" {
		return nil, missing("client_id")
	}
	if form.Get("resource") == "" {
		return nil, missing("resource")
	}
	app, acr, terr := e.credentialsClient(r, form, clientID, tenantSeg)
	if terr != nil {
		return nil, terr
	}
	res, _, terr := e.v1Resource(form.Get("resource"), app)
	if terr != nil {
		return nil, terr
	}
	var roles []string
	if !res.graph {
		roles = app.Roles
	}
	now := e.now()
	at := e.appToken(res, app.ClientID, appObjectID(app.ClientID), roles, acr, nil)
	return v1Answer(at.AccessToken, form.Get("resource"), now), nil
}

// v1Answer is a v1.0 token response around an access token.
func v1Answer(accessToken, resID string, now time.Time) *tokenAnswerV1 {
	secs := strconv.Itoa(int(accessLifetime.Seconds()))
	return &tokenAnswerV1{
		TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs,
		ExpiresOn:   strconv.FormatInt(now.Unix()+int64(accessLifetime.Seconds()), 10),
		NotBefore:   strconv.FormatInt(now.Unix()-int64(backdate.Seconds()), 10),
		Resource:    resID,
		AccessToken: accessToken,
	}
}

// idTokenV1 is a v1.0 ID token of the grant's user for app, as Entra ID's
// v1.0 endpoint issues them: iss https://sts.windows.net/{tid}/, aud the
// client ID, sub pairwise per app, upn and unique_name the sign-in name,
// amr, given_name and family_name when configured, roles the user's app
// roles in app, groups, nonce as sent at sign-in; no preferred_username
// (v2.0's), no ipaddr, and none of an access token's appid, appidacr, acr
// or scp.
func (e *Emulator) idTokenV1(app *App, g *refreshGrant, nonce string) string {
	now := e.now()
	u := g.user
	claims := map[string]any{"appid": nil, "appidacr": nil, "acr": nil, "ipaddr": nil}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if u.GivenName != "" {
		claims["given_name"] = u.GivenName
	}
	if u.FamilyName != "" {
		claims["family_name"] = u.FamilyName
	}
	return e.srv.Mint(entratest.Token{
		Version:           "1.0",
		TenantID:          e.cfg.TenantID,
		Audience:          app.ClientID,
		ObjectID:          u.ObjectID,
		Name:              u.Name,
		PreferredUsername: u.UPN,
		Roles:             slices.Clone(u.rolesFor(app.ClientID)),
		Groups:            u.Groups,
		IssuedAt:          now.Add(-backdate),
		ExpiresAt:         now.Add(idTokenLifetime),
		Claims:            claims,
	})
}
