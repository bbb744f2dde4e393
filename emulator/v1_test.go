package emulator_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entraguard/entraguard/emulator"
)

// v1Answer is a v1.0 token endpoint answer: its numbers are strings.
type v1Answer struct {
	Status       int
	Raw          string
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
	ErrorCodes   []int  `json:"error_codes"`
}

func postV1(t *testing.T, u string, form url.Values) v1Answer {
	t.Helper()
	a := post(t, nil, u, form, nil)
	v := v1Answer{Status: a.Status, Raw: a.Raw}
	if err := json.Unmarshal([]byte(a.Raw), &v); err != nil {
		t.Fatalf("v1.0 token answer is not JSON in the v1.0 shape: %v: %s", err, a.Raw)
	}
	return v
}

func (a v1Answer) code() int {
	if len(a.ErrorCodes) == 0 {
		return 0
	}
	return a.ErrorCodes[0]
}

func (m *emu) v1AuthorizeURL(clientID, redirect string, extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "resource": {"api://" + apiID},
		"state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			delete(q, k)
		}
	}
	return m.ts.URL + "/" + tenantID + "/oauth2/authorize?" + q.Encode()
}

func (m *emu) v1TokenURL() string { return m.ts.URL + "/" + tenantID + "/oauth2/token" }

// codeOf follows an authorization request answered at once (non-interactive
// mode) and returns the redirect's query.
func codeOf(t *testing.T, m *emu, u string) url.Values {
	t.Helper()
	resp, page := get(t, m.browser(t), u)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// verifySignature checks a token's RS256 signature with the key its kid
// names in the emulator's published v1.0 keys (jwks_uri of the v1.0
// metadata), independently of entraguard.
func verifySignature(t *testing.T, m *emu, tok string) {
	t.Helper()
	_, doc := getJSON(t, m.URL()+"/"+tenantID+"/.well-known/openid-configuration", nil)
	jwks, _ := doc["jwks_uri"].(string)
	_, set := getJSON(t, jwks, nil)
	parts := strings.Split(tok, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h struct{ Alg, Kid, X5t string }
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "RS256" || h.Kid == "" || h.X5t != h.Kid {
		t.Fatalf("v1.0 token header %s: want RS256 with kid and x5t", hb)
	}
	keys, _ := set["keys"].([]any)
	for _, k := range keys {
		jwk, _ := k.(map[string]any)
		if jwk["kid"] != h.Kid {
			continue
		}
		nb, err1 := base64.RawURLEncoding.DecodeString(jwk["n"].(string))
		eb, err2 := base64.RawURLEncoding.DecodeString(jwk["e"].(string))
		if err1 != nil || err2 != nil {
			t.Fatalf("published key %v is not base64url", jwk)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			t.Fatalf("the signature does not verify with the published key %s: %v", h.Kid, err)
		}
		tampered := sha256.Sum256([]byte(parts[0] + "." + parts[1] + "x"))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, tampered[:], sig) == nil {
			t.Fatal("the signature verifies for other bytes too")
		}
		return
	}
	t.Fatalf("kid %s is not in the published keys %s", h.Kid, jwks)
}

func v1Config(tokenVersion string) emulator.Config {
	c := nonInteractive()
	c.TokenVersion = tokenVersion
	c.Users[0].GivenName, c.Users[0].FamilyName = "Adele", "Vance"
	return c
}

func TestV1AuthCodeWithPKCE(t *testing.T) {
	for _, version := range []string{"2.0", "1.0"} {
		t.Run("API tokens v"+version, func(t *testing.T) {
			m := start(t, v1Config(version))
			q := codeOf(t, m, m.v1AuthorizeURL(webID, webCB, url.Values{"login_hint": {"adele@contoso.example"}}))
			if q.Get("code") == "" || q.Get("state") != "st-1" {
				t.Fatalf("v1.0 authorize answered %v", q)
			}
			form := url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"}, "code": {q.Get("code")},
				"redirect_uri": {webCB}, "code_verifier": {verifier}, "resource": {"api://" + apiID}}
			a := postV1(t, m.v1TokenURL(), form)
			if a.Status != 200 || a.TokenType != "Bearer" || a.ExpiresIn != "3599" || a.Resource != "api://"+apiID || a.RefreshToken == "" || a.IDToken == "" {
				t.Fatalf("v1.0 code redemption: %d %s", a.Status, a.Raw)
			}
			now := m.clock.Now().Unix()
			if on, _ := strconv.ParseInt(a.ExpiresOn, 10, 64); on != now+3599 {
				t.Errorf("expires_on %s, want now + 3599 (%d)", a.ExpiresOn, now+3599)
			}
			// The code is good once.
			if again := postV1(t, m.v1TokenURL(), form); again.Status != 400 || again.code() != 54005 {
				t.Errorf("code redeemed twice: %d %s", again.Status, again.Raw)
			}

			// The access token: for the API, in the API's configured version,
			// accepted by entraguard's validator.
			c := m.validate(t, apiID, a.AccessToken)
			if c.Version() != version || c.ObjectID() != "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" || !c.HasScope("Orders.Read") ||
				!c.HasRole("Admin") || c.AppID() != webID {
				t.Errorf("access token: ver %s oid %s scp %v roles %v app %s", c.Version(), c.ObjectID(), c.Scopes(), c.Roles(), c.AppID())
			}

			// The ID token, as Entra's v1.0 endpoint issues it.
			verifySignature(t, m, a.IDToken)
			id := payload(t, a.IDToken)
			want := map[string]any{
				"ver": "1.0", "iss": "https://sts.windows.net/" + tenantID + "/", "aud": webID, "tid": tenantID,
				"oid": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "upn": "adele@contoso.example", "unique_name": "adele@contoso.example",
				"name": "Adele Vance", "given_name": "Adele", "family_name": "Vance", "nonce": "n-1",
				"iat": float64(now - 300), "nbf": float64(now - 300), "exp": float64(now + 3600),
			}
			for k, v := range want {
				if id[k] != v {
					t.Errorf("ID token %s = %v, want %v", k, id[k], v)
				}
			}
			if r, _ := id["roles"].([]any); len(r) != 1 || r[0] != "Web.User" {
				t.Errorf("ID token roles %v: want the user's roles in the web app, Web.User", id["roles"])
			}
			if g, _ := id["groups"].([]any); len(g) != 1 || g[0] != "g1" {
				t.Errorf("ID token groups %v", id["groups"])
			}
			if amr, _ := id["amr"].([]any); len(amr) == 0 {
				t.Errorf("ID token amr %v: want the sign-in methods", id["amr"])
			}
			for _, k := range []string{"preferred_username", "ipaddr", "appid", "appidacr", "acr", "scp", "azp"} {
				if v, ok := id[k]; ok {
					t.Errorf("v1.0 ID token carries %s = %v", k, v)
				}
			}
			sub, _ := id["sub"].(string)
			if len(sub) != 43 || sub == id["oid"] {
				t.Errorf("ID token sub %q: want a pairwise identifier", sub)
			}

			// sub is pairwise per app: the same app's v2.0 ID token has the
			// same sub, another app's another.
			r2, _ := get(t, m.browser(t), m.authorizeURL(webID, webCB, url.Values{"login_hint": {"adele@contoso.example"}}))
			loc, _ := url.Parse(r2.Header.Get("Location"))
			v2 := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
				"code": {loc.Query().Get("code")}, "redirect_uri": {webCB}, "code_verifier": {verifier}, "scope": {"openid api://" + apiID + "/Orders.Read"}}, nil)
			if v2.Status != 200 || payload(t, v2.IDToken)["sub"] != sub {
				t.Errorf("v2.0 ID token of the same app and user: %d sub %v, want %s", v2.Status, payload(t, v2.IDToken)["sub"], sub)
			}
			cb := "http://localhost:49152/"
			q = codeOf(t, m, m.v1AuthorizeURL(cliID, cb, url.Values{"login_hint": {"adele@contoso.example"}, "resource": {""}}))
			pub := postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {cliID}, "code": {q.Get("code")},
				"redirect_uri": {cb}, "code_verifier": {verifier}})
			if pub.Status != 200 {
				t.Fatalf("public client: %d %s", pub.Status, pub.Raw)
			}
			if other := payload(t, pub.IDToken); other["sub"] == sub || other["aud"] != cliID || other["roles"] != nil {
				t.Errorf("another app's ID token: sub %v aud %v roles %v", other["sub"], other["aud"], other["roles"])
			}
			// Without a resource the token is for Microsoft Graph.
			if pub.Resource != "https://graph.microsoft.com" || pub.Scope != "User.Read" {
				t.Errorf("no resource: resource %q scope %q", pub.Resource, pub.Scope)
			}

			// Refresh through the v1.0 endpoint: new tokens, the old refresh
			// token spent.
			m.clock.Add(10 * time.Minute)
			rf := url.Values{"grant_type": {"refresh_token"}, "client_id": {webID}, "client_secret": {"web-secret"}, "refresh_token": {a.RefreshToken}}
			r := postV1(t, m.v1TokenURL(), rf)
			if r.Status != 200 || r.RefreshToken == "" || r.RefreshToken == a.RefreshToken || r.Resource != "api://"+apiID || r.IDToken == "" {
				t.Fatalf("v1.0 refresh: %d %s", r.Status, r.Raw)
			}
			if c := m.validate(t, apiID, r.AccessToken); c.ObjectID() != "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa" || !c.HasScope("Orders.Read") {
				t.Errorf("refreshed access token: oid %s scp %v", c.ObjectID(), c.Scopes())
			}
			if rid := payload(t, r.IDToken); rid["ver"] != "1.0" || rid["sub"] != sub || rid["nonce"] != nil {
				t.Errorf("refreshed ID token: ver %v sub %v nonce %v", rid["ver"], rid["sub"], rid["nonce"])
			}
			if again := postV1(t, m.v1TokenURL(), rf); again.Status != 400 || again.code() != 70008 {
				t.Errorf("spent refresh token: %d %s", again.Status, again.Raw)
			}
			// Another resource with the same refresh token (v1.0 refresh
			// tokens are multi-resource).
			rf.Set("refresh_token", r.RefreshToken)
			rf.Set("resource", "https://graph.microsoft.com")
			g := postV1(t, m.v1TokenURL(), rf)
			if g.Status != 200 || payload(t, g.AccessToken)["aud"] != "https://graph.microsoft.com" {
				t.Fatalf("refresh for Graph: %d %s", g.Status, g.Raw)
			}
			// A v1.0 refresh token is good at the v2.0 endpoint too.
			v2r := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"refresh_token"}, "client_id": {webID}, "client_secret": {"web-secret"},
				"refresh_token": {g.RefreshToken}, "scope": {"openid api://" + apiID + "/Orders.Read"}}, nil)
			if v2r.Status != 200 || payload(t, v2r.IDToken)["ver"] != "2.0" {
				t.Fatalf("v1.0 refresh token at v2.0: %d %s", v2r.Status, v2r.Raw)
			}
			if c := m.validate(t, apiID, v2r.AccessToken); !c.HasScope("Orders.Read") {
				t.Errorf("v2.0 access token from a v1.0 refresh token: scp %v", c.Scopes())
			}
		})
	}
}

func TestV1ResponseModes(t *testing.T) {
	m := start(t, v1Config(""))
	resp, _ := get(t, m.browser(t), m.v1AuthorizeURL(webID, webCB, url.Values{"response_mode": {"fragment"}}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	frag, _ := url.ParseQuery(loc.Fragment)
	if resp.StatusCode != http.StatusFound || frag.Get("code") == "" || frag.Get("state") != "st-1" || loc.RawQuery != "" {
		t.Errorf("fragment: %d %v", resp.StatusCode, loc)
	}
	resp, page := get(t, m.browser(t), m.v1AuthorizeURL(webID, webCB, url.Values{"response_mode": {"form_post"}}))
	code := formOf(t, page).Get("code")
	if resp.StatusCode != 200 || !strings.Contains(page, `<form method="post" action="`+webCB+`">`) || code == "" {
		t.Fatalf("form_post: %d %s", resp.StatusCode, page)
	}
	a := postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {code}, "redirect_uri": {webCB}, "code_verifier": {verifier}})
	if a.Status != 200 || a.Resource != "api://"+apiID {
		t.Errorf("form_post code, resource of the authorization request: %d %s", a.Status, a.Raw)
	}
	// Interactive: the sign-in page of v2.0 serves v1.0 too.
	ic := baseConfig()
	mi := start(t, ic)
	b := mi.browser(t)
	q := signIn(t, mi, b, mi.v1AuthorizeURL(webID, webCB, nil), "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")
	a = postV1(t, mi.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {q.Get("code")}, "redirect_uri": {webCB}, "code_verifier": {verifier}})
	if a.Status != 200 || payload(t, a.IDToken)["upn"] != "bob@contoso.example" {
		t.Errorf("signed in on the page as Bob: %d %s", a.Status, a.Raw)
	}
	// prompt=none with the browser's session.
	resp, _ = get(t, b, mi.v1AuthorizeURL(webID, webCB, url.Values{"prompt": {"none"}}))
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Errorf("prompt=none in a session: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestV1ClientCredentials(t *testing.T) {
	for _, version := range []string{"2.0", "1.0"} {
		t.Run("API tokens v"+version, func(t *testing.T) {
			m := start(t, v1Config(version))
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {"web-secret"}, "resource": {"api://" + apiID}}
			a := postV1(t, m.v1TokenURL(), form)
			if a.Status != 200 || a.Resource != "api://"+apiID || a.RefreshToken != "" || a.IDToken != "" {
				t.Fatalf("v1.0 client credentials: %d %s", a.Status, a.Raw)
			}
			c := m.validate(t, apiID, a.AccessToken)
			if !c.IsApp() || c.AppID() != webID || c.Version() != version {
				t.Errorf("app token: app %v appid %s ver %s", c.IsApp(), c.AppID(), c.Version())
			}
			// The app's service principal is the same from both endpoints.
			v2 := post(t, nil, m.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {"web-secret"},
				"scope": {"api://" + apiID + "/.default"}}, nil)
			if v2.Status != 200 || payload(t, v2.AccessToken)["oid"] != c.ObjectID() {
				t.Errorf("v2.0 app token oid %v, v1.0 %s", payload(t, v2.AccessToken)["oid"], c.ObjectID())
			}
			form.Set("client_secret", "wrong")
			if bad := postV1(t, m.v1TokenURL(), form); bad.Status != 401 || bad.Error != "invalid_client" || bad.code() != 7000215 {
				t.Errorf("wrong secret: %d %s", bad.Status, bad.Raw)
			}
		})
	}
}

func TestV1Refusals(t *testing.T) {
	m := start(t, v1Config(""))
	unknown := "api://99999999-9999-4999-8999-999999999999"

	// Unknown resource: at authorize, to the redirect URI; at the token
	// endpoint, in the answer.
	q := codeOf(t, m, m.v1AuthorizeURL(webID, webCB, url.Values{"resource": {unknown}}))
	if q.Get("error") != "invalid_resource" || q.Get("error_codes") != "500011" || q.Get("code") != "" || q.Get("state") != "st-1" ||
		!strings.HasPrefix(q.Get("error_description"), "AADSTS500011: ") {
		t.Errorf("unknown resource at authorize: %v", q)
	}
	a := postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {"web-secret"}, "resource": {unknown}})
	if a.Status != 400 || a.Error != "invalid_resource" || a.code() != 500011 {
		t.Errorf("unknown resource at token: %d %s", a.Status, a.Raw)
	}
	q = codeOf(t, m, m.v1AuthorizeURL(webID, webCB, nil))
	a = postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {q.Get("code")}, "redirect_uri": {webCB}, "code_verifier": {verifier}, "resource": {unknown}})
	if a.Status != 400 || a.code() != 500011 || a.AccessToken != "" {
		t.Errorf("unknown resource at code redemption: %d %s", a.Status, a.Raw)
	}
	if a := postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {"web-secret"}}); a.Status != 400 || a.code() != 900144 {
		t.Errorf("client credentials without resource: %d %s", a.Status, a.Raw)
	}

	// A redirect URI that is not the app's: refused on a page, never sent there.
	resp, page := get(t, m.browser(t), m.v1AuthorizeURL(webID, "https://evil.example/cb", nil))
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(page, "AADSTS50011") {
		t.Errorf("redirect URI mismatch: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	// ...and a code redeemed with another redirect URI than it was issued for.
	q = codeOf(t, m, m.v1AuthorizeURL(webID, webCB, nil))
	a = postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {q.Get("code")}, "redirect_uri": {"https://web.example/other"}, "code_verifier": {verifier}})
	if a.Status != 400 || a.Error != "invalid_grant" || a.code() != 500112 {
		t.Errorf("code with another redirect URI: %d %s", a.Status, a.Raw)
	}

	// A public client without PKCE.
	q = codeOf(t, m, m.v1AuthorizeURL(cliID, "http://localhost:8080", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}))
	if q.Get("error") != "invalid_request" || q.Get("error_codes") != "9002325" || q.Get("code") != "" {
		t.Errorf("public client without PKCE: %v", q)
	}
	// A wrong code_verifier.
	q = codeOf(t, m, m.v1AuthorizeURL(cliID, "http://localhost:8080", nil))
	a = postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {cliID}, "code": {q.Get("code")},
		"redirect_uri": {"http://localhost:8080"}, "code_verifier": {verifier + "x"}})
	if a.Status != 400 || a.code() != 50148 {
		t.Errorf("wrong code_verifier: %d %s", a.Status, a.Raw)
	}

	// A code is redeemed at the endpoint version that issued it.
	q = codeOf(t, m, m.authorizeURL(webID, webCB, nil))
	a = postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"authorization_code"}, "client_id": {webID}, "client_secret": {"web-secret"},
		"code": {q.Get("code")}, "redirect_uri": {webCB}, "code_verifier": {verifier}})
	if a.Status != 400 || a.code() != 70000 {
		t.Errorf("v2.0 code at the v1.0 token endpoint: %d %s", a.Status, a.Raw)
	}

	// Other grants and tenants.
	if a := postV1(t, m.v1TokenURL(), url.Values{"grant_type": {"password"}, "client_id": {webID}}); a.Status != 400 || a.code() != 70003 {
		t.Errorf("unsupported grant: %d %s", a.Status, a.Raw)
	}
	other := m.ts.URL + "/00000000-0000-4000-8000-000000000001/oauth2/token"
	if a := postV1(t, other, url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {"web-secret"}, "resource": {"api://" + apiID}}); a.Status != 400 || a.code() != 90002 {
		t.Errorf("another tenant: %d %s", a.Status, a.Raw)
	}
	huge := url.Values{"grant_type": {"client_credentials"}, "client_id": {webID}, "client_secret": {"web-secret"}, "resource": {strings.Repeat("a", 70<<10)}}
	if a := postV1(t, m.v1TokenURL(), huge); a.Status != 400 || a.code() != 9002313 {
		t.Errorf("a body over 64 KiB: %d %.200s", a.Status, a.Raw)
	}
	if !slices.Contains([]int{400, 405}, mustGetStatus(t, m.v1TokenURL())) {
		t.Error("GET on the v1.0 token endpoint is not refused")
	}
}

func mustGetStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
