package emulator_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entraguard/entraguard/emulator"
)

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formOf reads the hidden fields of a page's form.
func formOf(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Add(htmlUnescape(m[1]), htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn runs the sign-in page as a browser: it picks the user and accepts.
func signIn(t *testing.T, m *emu, b *http.Client, authURL, userOID string) url.Values {
	t.Helper()
	resp, page := get(t, b, authURL)
	if resp.StatusCode != 200 || !strings.Contains(page, "<label for=\"user-0\">Adele Vance (adele@contoso.example)</label>") {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, page)
	}
	form := formOf(t, page)
	form.Set("emulator_user", userOID)
	form.Set("emulator_action", "accept")
	a := post(t, b, authURL, form, nil)
	if a.Status != http.StatusFound {
		t.Fatalf("sign-in: %d %s", a.Status, a.Raw)
	}
	loc, err := url.Parse(a.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

func TestAuthCodeWithPKCEThroughTheSignInPage(t *testing.T) {
	m := start(t, baseConfig())
	b := m.browser(t)
	q := signIn(t, m, b, m.authorizeURL(webID, webCB, nil), "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
	if q.Get("state") != "st-1" || q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("answer to the redirect URI: %v", q)
	}
	redeem := url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {q.Get("code")}, "redirect_uri": {webCB}, "code_verifier": {verifier}, "client_info": {"1"},
		"scope": {"openid profile email offline_access api://" + apiID + "/Orders.Read"}}
	a := post(t, nil, m.TokenURL(), redeem, nil)
	if a.Status != 200 || a.AccessToken == "" || a.IDToken == "" || a.RefreshToken == "" || a.ClientInfo == "" {
		t.Fatalf("redeem: %d %s", a.Status, a.Raw)
	}
	if !strings.Contains(a.Scope, "api://"+apiID+"/Orders.Read") || !strings.Contains(a.Scope, "offline_access") {
		t.Errorf("scope %q", a.Scope)
	}
	c := m.validate(t, apiID, a.AccessToken)
	if c.IsApp() || c.ObjectID() != "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" || !slices.Equal(c.Scopes(), []string{"Orders.Read"}) ||
		!slices.Equal(c.Roles(), []string{"Admin"}) || !strings.EqualFold(c.AppID(), webID) || !slices.Equal(c.Groups(), []string{"g1"}) {
		t.Errorf("access token: app %v oid %q scp %v roles %v azp %q groups %v", c.IsApp(), c.ObjectID(), c.Scopes(), c.Roles(), c.AppID(), c.Groups())
	}
	id := payload(t, a.IDToken)
	if id["aud"] != webID || id["nonce"] != "n-1" || id["oid"] != "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" || id["tid"] != tenantID ||
		id["preferred_username"] != "adele@contoso.example" || id["email"] != "adele@contoso.example" || id["ver"] != "2.0" ||
		id["iss"] != m.URL()+"/"+tenantID+"/v2.0" || id["scp"] != nil || id["sid"] == nil {
		t.Errorf("ID token claims: %v", id)
	}
	if roles, _ := id["roles"].([]any); len(roles) != 1 || roles[0] != "Web.User" {
		t.Errorf("ID token roles %v, want the user's roles in the web app", id["roles"])
	}
	// entraguard's validator takes the ID token too (Validate applies no
	// policy), for the web app as audience.
	if c := m.validate(t, webID, a.IDToken); c.Subject() == "" || c.Subject() == payload(t, a.AccessToken)["sub"] {
		t.Errorf("ID token sub %q must be pairwise: another than the API's token's", c.Subject())
	}

	// The code is good once.
	if a := post(t, nil, m.TokenURL(), redeem, nil); a.Status != 400 || a.Error != "invalid_grant" || a.code() != 54005 {
		t.Errorf("code redeemed twice: %d %s", a.Status, a.Raw)
	}

	// Refresh: a new access token and a new refresh token; the old one is spent.
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"refresh_token": {a.RefreshToken}, "scope": {"openid offline_access api://" + apiID + "/Orders.Read"}}
	r1 := post(t, nil, m.TokenURL(), refresh, nil)
	if r1.Status != 200 || r1.AccessToken == "" || r1.RefreshToken == "" || r1.RefreshToken == a.RefreshToken {
		t.Fatalf("refresh: %d %s", r1.Status, r1.Raw)
	}
	m.validate(t, apiID, r1.AccessToken)
	if again := post(t, nil, m.TokenURL(), refresh, nil); again.Status != 400 || again.Error != "invalid_grant" {
		t.Errorf("a rotated refresh token is used again: %d %s", again.Status, again.Raw)
	}
	// Another app cannot use it; a wrong secret cannot either.
	refresh.Set("refresh_token", r1.RefreshToken)
	refresh.Set("client_secret", "wrong")
	if w := post(t, nil, m.TokenURL(), refresh, nil); w.Status != 401 || w.code() != 7000215 || strings.Contains(w.Raw, "wrong") {
		t.Errorf("wrong secret: %d %s", w.Status, w.Raw)
	}

	// Single sign-on: the browser's session answers at once; prompt=login
	// shows the page again.
	resp, _ := get(t, b, m.authorizeURL(webID, webCB, nil))
	if resp.StatusCode != http.StatusFound {
		t.Errorf("SSO: %d", resp.StatusCode)
	}
	if resp, _ := get(t, b, m.authorizeURL(webID, webCB, url.Values{"prompt": {"login"}})); resp.StatusCode != 200 {
		t.Errorf("prompt=login: %d, want the page", resp.StatusCode)
	}

	// Sign-out ends the session and its refresh tokens.
	resp, _ = get(t, b, m.URL()+"/"+tenantID+"/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape(webCB))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != webCB {
		t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	refresh.Set("client_secret", "web-secret")
	if r := post(t, nil, m.TokenURL(), refresh, nil); r.Status != 400 || r.Error != "invalid_grant" {
		t.Errorf("refresh after sign-out: %d %s", r.Status, r.Raw)
	}
	if resp, _ := get(t, b, m.authorizeURL(webID, webCB, url.Values{"prompt": {"none"}})); !strings.Contains(resp.Header.Get("Location"), "error=login_required") {
		t.Errorf("prompt=none after sign-out: %q", resp.Header.Get("Location"))
	}
	// An unregistered post-logout URI is not followed.
	if resp, _ := get(t, b, m.URL()+"/"+tenantID+"/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape("https://evil.example/")); resp.StatusCode != 200 {
		t.Errorf("logout to an unregistered URI: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSignInPageCancelAndForgedPost(t *testing.T) {
	m := start(t, baseConfig())
	b := m.browser(t)
	u := m.authorizeURL(webID, webCB, nil)
	_, page := get(t, b, u)
	form := formOf(t, page)
	form.Set("emulator_action", "cancel")
	a := post(t, b, u, form, nil)
	loc, _ := url.Parse(a.Header.Get("Location"))
	if a.Status != http.StatusFound || loc.Query().Get("error") != "access_denied" || !strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS65004:") || loc.Query().Get("state") != "st-1" {
		t.Errorf("cancel: %d %v", a.Status, loc)
	}
	// A post without the page's ticket (another site's form) signs nobody in.
	form.Set("emulator_action", "accept")
	form.Set("emulator_user", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
	if a := post(t, b, u, form, nil); a.Status != 400 || a.Header.Get("Location") != "" {
		t.Errorf("reused ticket: %d %q", a.Status, a.Header.Get("Location"))
	}
	form.Del("emulator_ticket")
	if a := post(t, b, u, form, nil); a.Status != 400 || a.Header.Get("Location") != "" {
		t.Errorf("no ticket: %d %q", a.Status, a.Header.Get("Location"))
	}
}

func nonInteractive() emulator.Config {
	c := baseConfig()
	c.NonInteractive = true
	return c
}

func TestResponseModesAndPublicClients(t *testing.T) {
	m := start(t, nonInteractive())
	c := m.browser(t)

	// A public client: PKCE S256 and http://localhost on any port.
	cb := "http://localhost:53123"
	resp, _ := get(t, c, m.authorizeURL(cliID, cb, url.Values{"login_hint": {"bob@contoso.example"}}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "localhost:53123" || loc.Query().Get("code") == "" {
		t.Fatalf("public client: %d %v", resp.StatusCode, loc)
	}
	a := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {cliID}, "code": {loc.Query().Get("code")},
		"redirect_uri": {cb}, "code_verifier": {verifier}, "scope": {"openid api://" + apiID + "/Orders.Read"}}, nil)
	if a.Status != 200 {
		t.Fatalf("public redeem: %d %s", a.Status, a.Raw)
	}
	if c := m.validate(t, apiID, a.AccessToken); c.ObjectID() != "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" {
		t.Errorf("login_hint ignored: oid %q", c.ObjectID())
	}

	// fragment and form_post.
	resp, _ = get(t, c, m.authorizeURL(spaID, "http://localhost:3000/", url.Values{"response_mode": {"fragment"}}))
	loc, _ = url.Parse(resp.Header.Get("Location"))
	frag, _ := url.ParseQuery(loc.Fragment)
	if frag.Get("code") == "" || loc.RawQuery != "" || frag.Get("state") != "st-1" {
		t.Errorf("fragment: %v", loc)
	}
	// A SPA redeems cross-origin only, and CORS lets it read the answer.
	spaForm := url.Values{"grant_type": {"authorization_code"}, "client_id": {spaID}, "code": {frag.Get("code")},
		"redirect_uri": {"http://localhost:3000/"}, "code_verifier": {verifier}, "scope": {"openid offline_access api://" + apiID + "/Orders.Read"}}
	if a := post(t, nil, m.TokenURL(), spaForm, nil); a.Status != 400 || a.code() != 9002327 {
		t.Errorf("SPA without Origin: %d %s", a.Status, a.Raw)
	}
	resp, _ = get(t, c, m.authorizeURL(spaID, "http://localhost:3000/", url.Values{"response_mode": {"fragment"}}))
	loc, _ = url.Parse(resp.Header.Get("Location"))
	frag, _ = url.ParseQuery(loc.Fragment)
	spaForm.Set("code", frag.Get("code"))
	a = post(t, nil, m.TokenURL(), spaForm, func(r *http.Request) { r.Header.Set("Origin", "http://localhost:3000") })
	if a.Status != 200 || a.Header.Get("Access-Control-Allow-Origin") == "" || a.RefreshToken == "" {
		t.Errorf("SPA: %d %v %s", a.Status, a.Header, a.Raw)
	}
	pre, _ := http.NewRequest(http.MethodOptions, m.TokenURL(), nil)
	pre.Header.Set("Origin", "http://localhost:3000")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type,x-client-sku")
	if r, err := http.DefaultClient.Do(pre); err != nil || r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Headers") != "content-type,x-client-sku" {
		t.Errorf("preflight: %v %v", r, err)
	} else {
		r.Body.Close()
	}

	resp, page := get(t, c, m.authorizeURL(webID, webCB, url.Values{"response_mode": {"form_post"}}))
	if resp.StatusCode != 200 || !strings.Contains(page, `<form method="post" action="`+webCB+`">`) || formOf(t, page).Get("code") == "" ||
		!strings.Contains(page, `<button type="submit">Continue</button>`) {
		t.Errorf("form_post: %d %s", resp.StatusCode, page)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	m := start(t, nonInteractive())
	c := m.browser(t)
	// The redirect URI cannot be trusted: a page, never a redirect.
	for _, tc := range []struct{ name, client, cb string }{
		{"unregistered redirect", webID, "https://evil.example/cb"},
		{"another port of a web URI", webID, "https://web.example:8443/signin-oidc"},
		{"https on localhost for a public client", cliID, "https://localhost:5000"},
		{"unknown client", "99999999-9999-4999-8999-999999999999", webCB},
	} {
		resp, page := get(t, c, m.authorizeURL(tc.client, tc.cb, nil))
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "AADSTS") {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The rest goes back to the app as Entra's error.
	for _, tc := range []struct {
		name   string
		client string
		cb     string
		extra  url.Values
		code   string
	}{
		{"public client without PKCE", cliID, "http://localhost:1234", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, "AADSTS9002325"},
		{"SPA with plain PKCE", spaID, "http://localhost:3000/", url.Values{"code_challenge_method": {"plain"}}, "AADSTS9002325"},
		{"implicit flow", webID, webCB, url.Values{"response_type": {"token"}}, "AADSTS700054"},
		{"unknown API scope", webID, webCB, url.Values{"scope": {"openid api://" + apiID + "/Orders.Delete"}}, "AADSTS65005"},
		{"unknown resource", webID, webCB, url.Values{"scope": {"api://nope/x"}}, "AADSTS500011"},
		{"unknown login_hint", webID, webCB, url.Values{"login_hint": {"eve@contoso.example"}}, "AADSTS50034"},
	} {
		resp, _ := get(t, c, m.authorizeURL(tc.client, tc.cb, tc.extra))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.Query().Get("error_description"), tc.code+":") || loc.Query().Get("code") != "" {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, loc)
		}
	}
	// Redeeming: wrong verifier, wrong redirect URI, expired code.
	code := func() string {
		resp, _ := get(t, c, m.authorizeURL(webID, webCB, nil))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc.Query().Get("code")
	}
	form := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
			"code": {code}, "redirect_uri": {webCB}, "code_verifier": {verifier}}
	}
	f := form(code())
	f.Set("code_verifier", verifier+"x")
	if a := post(t, nil, m.TokenURL(), f, nil); a.Status != 400 || a.code() != 50148 {
		t.Errorf("wrong verifier: %d %s", a.Status, a.Raw)
	}
	f = form(code())
	f.Set("redirect_uri", "https://web.example/other")
	if a := post(t, nil, m.TokenURL(), f, nil); a.Status != 400 || a.code() != 500112 {
		t.Errorf("wrong redirect: %d %s", a.Status, a.Raw)
	}
	f = form(code())
	if a := post(t, nil, m.TokenURL(), f, func(r *http.Request) { r.Header.Set("Origin", "https://web.example") }); a.Status != 400 || a.code() != 9002326 {
		t.Errorf("a web app's code redeemed cross-origin: %d %s", a.Status, a.Raw)
	}
	f = form(code())
	f.Del("client_secret")
	if a := post(t, nil, m.TokenURL(), f, nil); a.Status != 401 || a.Error != "invalid_client" {
		t.Errorf("confidential client without credential: %d %s", a.Status, a.Raw)
	}
	f = form(code())
	m.clock.Add(11 * time.Minute)
	if a := post(t, nil, m.TokenURL(), f, nil); a.Status != 400 || a.code() != 70008 {
		t.Errorf("expired code: %d %s", a.Status, a.Raw)
	}
	// A public client sends no secret.
	m.clock.Add(-11 * time.Minute)
	resp, _ := get(t, c, m.authorizeURL(cliID, "http://127.0.0.1:9/x", nil))
	if resp.StatusCode != 400 {
		t.Errorf("127.0.0.1 when http://localhost is registered: %d (Entra tells the two apart)", resp.StatusCode)
	}
}

func TestPromptValues(t *testing.T) {
	m := start(t, baseConfig())
	b := m.browser(t)
	signIn(t, m, b, m.authorizeURL(webID, webCB, url.Values{"domain_hint": {"contoso.example"}}), "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
	// Signed in: no prompt answers at once; select_account and consent show
	// the page (consent says it asks again); none answers at once; a
	// login_hint naming another user shows the page with that user chosen.
	for _, tc := range []struct {
		extra url.Values
		page  bool
		want  string
	}{
		{nil, false, ""},
		{url.Values{"prompt": {"none"}}, false, ""},
		{url.Values{"prompt": {"select_account"}}, true, "Pick an account"},
		{url.Values{"prompt": {"consent"}}, true, "Accepting gives consent again"},
		{url.Values{"login_hint": {"bob@contoso.example"}}, true, `value="bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" checked`},
		{url.Values{"prompt": {"none"}, "login_hint": {"bob@contoso.example"}}, false, "error=login_required"},
		{url.Values{"prompt": {"bogus"}}, false, "error_description=AADSTS90023"},
	} {
		resp, page := get(t, b, m.authorizeURL(webID, webCB, tc.extra))
		switch {
		case tc.page && (resp.StatusCode != 200 || !strings.Contains(page, tc.want)):
			t.Errorf("%v: %d, want the page with %q", tc.extra, resp.StatusCode, tc.want)
		case !tc.page && (resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), tc.want)):
			t.Errorf("%v: %d %q, want a redirect with %q", tc.extra, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
}

func TestRefreshTokensExpire(t *testing.T) {
	// A web app's refresh token lives 90 days, a SPA's 24 hours, as Entra's.
	m := start(t, nonInteractive())
	c := m.browser(t)
	redeem := func(client, cb string, secret bool, origin string) answer {
		resp, _ := get(t, c, m.authorizeURL(client, cb, url.Values{"response_mode": {"query"}}))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		f := url.Values{"grant_type": {"authorization_code"}, "client_id": {client}, "code": {loc.Query().Get("code")},
			"redirect_uri": {cb}, "code_verifier": {verifier}}
		if secret {
			f.Set("client_secret", "web-secret")
		}
		return post(t, nil, m.TokenURL(), f, func(r *http.Request) {
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
		})
	}
	web := redeem(webID, webCB, true, "")
	spa := redeem(spaID, "http://localhost:3000/", false, "http://localhost:3000")
	if web.RefreshToken == "" || spa.RefreshToken == "" {
		t.Fatalf("no refresh tokens: %s %s", web.Raw, spa.Raw)
	}
	refresh := func(client, rt string, secret bool, origin string) answer {
		f := url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}, "scope": {"openid offline_access api://" + apiID + "/Orders.Read"}}
		if secret {
			f.Set("client_secret", "web-secret")
		}
		return post(t, nil, m.TokenURL(), f, func(r *http.Request) {
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
		})
	}
	m.clock.Add(23 * time.Hour)
	if a := refresh(spaID, spa.RefreshToken, false, "http://localhost:3000"); a.Status != 200 {
		t.Fatalf("a SPA's refresh token after 23 hours: %d %s", a.Status, a.Raw)
	} else {
		spa = a // rotated: the new one ends with the sign-in's 24 hours too
	}
	m.clock.Add(2 * time.Hour)
	if a := refresh(spaID, spa.RefreshToken, false, "http://localhost:3000"); a.Status != 400 || a.code() != 700082 {
		t.Errorf("a SPA's refresh token after 25 hours: %d %s", a.Status, a.Raw)
	}
	if a := refresh(webID, web.RefreshToken, true, ""); a.Status != 200 {
		t.Fatalf("a web app's refresh token after 25 hours: %d %s", a.Status, a.Raw)
	} else {
		web = a
	}
	m.clock.Add(91 * 24 * time.Hour)
	if a := refresh(webID, web.RefreshToken, true, ""); a.Status != 400 || a.code() != 700082 {
		t.Errorf("a web app's refresh token after 91 days: %d %s", a.Status, a.Raw)
	}
}
