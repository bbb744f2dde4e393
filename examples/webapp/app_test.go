package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/emulator"
)

const (
	tenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	apiID   = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	webID   = "0b7a5f1c-55b8-4a43-9f35-3c1b1b0f8f10"
	adele   = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	ben     = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	secret  = "test-web-secret"
	scopeRd = "api://" + apiID + "/Orders.Read"
)

var (
	hidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	action = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
)

// TestTokenCachePerUser signs two users in and checks that MSAL's cache
// keeps each user's tokens in a partition of their own, and that sign-out
// drops only that user's.
func TestTokenCachePerUser(t *testing.T) {
	e, err := emulator.New(emulator.Config{
		TenantID: tenant, ClientID: apiID, APIScopes: []string{"Orders.Read"},
		Users: []emulator.User{{ObjectID: adele, UPN: "adele@contoso.example"}, {ObjectID: ben, UPN: "ben@contoso.example"}},
		Apps:  []emulator.App{{ClientID: webID, Secret: secret, RedirectURIs: []string{"http://127.0.0.1/auth/callback", "http://127.0.0.1/"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewTLSServer(e)
	e.SetURL(idp.URL)
	defer func() { idp.Close(); e.Close() }()

	// The redirect URI names the web app's address: start it, then build
	// the app behind it.
	var handler http.Handler
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer web.Close()
	app, err := newWebApp(&settings{tenantID: tenant, authorityHost: idp.URL + "/", clientID: webID, secret: secret,
		redirectURL: web.URL + "/auth/callback", apiURL: "http://127.0.0.1:1", apiScope: scopeRd}, idp.Client())
	if err != nil {
		t.Fatal(err)
	}
	handler = app.routes()

	signIn := func(user string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: idp.Client().Transport}
		resp, err := c.Get(web.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page := readAll(t, resp)
		form := fields(page)
		form.Set("emulator_user", user)
		form.Set("emulator_action", "accept")
		resp, err = c.PostForm(resp.Request.URL.String(), form)
		if err != nil {
			t.Fatal(err)
		}
		page = readAll(t, resp)
		m := action.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no form_post answer:\n%s", page)
		}
		resp, err = c.PostForm(html.UnescapeString(m[1]), fields(page))
		if err != nil {
			t.Fatal(err)
		}
		if page := readAll(t, resp); !strings.Contains(page, `id="user"`) {
			t.Fatalf("not signed in:\n%s", page)
		}
		return c
	}
	adeleBrowser := signIn(adele)
	signIn(ben)

	partitions := func() map[string]string {
		app.tokens.mu.Lock()
		defer app.tokens.mu.Unlock()
		out := map[string]string{}
		for k, v := range app.tokens.byKey {
			out[k] = string(v)
		}
		return out
	}
	p := partitions()
	if len(p) != 2 {
		t.Fatalf("%d cache partitions, want one per user: %v", len(p), keys(p))
	}
	for key, data := range p {
		mine, other := adele, ben
		if strings.HasPrefix(key, ben) {
			mine, other = ben, adele
		}
		if !strings.HasPrefix(key, mine) || !strings.Contains(data, mine) || strings.Contains(data, other) {
			t.Errorf("partition %q holds another user's tokens", key)
		}
		if !strings.Contains(data, `"RefreshToken"`) || !strings.Contains(data, `"AccessToken"`) {
			t.Errorf("partition %q lacks the user's tokens", key)
		}
	}

	resp, err := adeleBrowser.PostForm(web.URL+"/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	p = partitions()
	if len(p) != 1 {
		t.Fatalf("after Adele's sign-out: partitions %v, want Ben's only", keys(p))
	}
	for key := range p {
		if !strings.HasPrefix(key, ben) {
			t.Errorf("after Adele's sign-out the cache holds %q", key)
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fields(page string) url.Values {
	v := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
