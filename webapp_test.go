package entraguard_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/entraguard/entraguard/emulator"
)

// IDs of the emulator's configuration in TestWebAppExample.
const (
	webTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	webAPI    = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	webApp    = "0b7a5f1c-55b8-4a43-9f35-3c1b1b0f8f10"
	webSecret = "local-web-secret"
	webAdele  = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	webBen    = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
)

// TestWebAppExample runs examples/webapp and examples/nethttp against the
// emulator (its sign-in page, on TLS) and signs two users in through the
// web app with an HTTP client per browser: each user's call of the API
// carries that user's token, a sign-in cannot be finished by another
// browser, and sign-out ends the session.
func TestWebAppExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example programs; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the programs with SIGTERM")
	}
	bins := buildExamples(t, "webapp", "nethttp")

	e, err := emulator.New(emulator.Config{
		TenantID:  webTenant,
		ClientID:  webAPI,
		APIScopes: []string{"Orders.Read"},
		Users: []emulator.User{
			{ObjectID: webAdele, Name: "Adele Vance", UPN: "adele@contoso.example"},
			{ObjectID: webBen, Name: "Ben Walters", UPN: "ben@contoso.example"},
		},
		// Any port of a loopback redirect URI, as Entra ID allows; "/" is
		// where sign-out comes back to.
		Apps: []emulator.App{{ClientID: webApp, Name: "Contoso Orders", Secret: webSecret, RedirectURIs: []string{"http://127.0.0.1/auth/callback", "http://127.0.0.1/"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(e)
	e.SetURL(ts.URL)
	t.Cleanup(func() { ts.Close(); e.Close() })
	caFile := filepath.Join(t.TempDir(), "emulator.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	api := startProgram(t, bins["nethttp"], map[string]string{
		"ENTRA_TENANT_ID": webTenant, "ENTRA_CLIENT_ID": webAPI, "ENTRA_AUTHORITY_HOST": ts.URL + "/",
		"ENTRA_AUTHORITY_CA_FILE": caFile, "ADDR": "127.0.0.1:0",
	})
	web := startProgram(t, bins["webapp"], map[string]string{
		"ENTRA_TENANT_ID": webTenant, "ENTRA_AUTHORITY_HOST": ts.URL + "/",
		"WEB_CLIENT_ID": webApp, "WEB_CLIENT_SECRET": webSecret,
		"API_URL": api.url, "API_SCOPE": "api://" + webAPI + "/Orders.Read",
		"EMULATOR_CA_FILE": caFile, "ADDR": "127.0.0.1:0",
	})

	adele, ben := newBrowser(t, ts), newBrowser(t, ts)
	if page := adele.get(t, web.url+"/"); !strings.Contains(page, `href="/login"`) {
		t.Fatalf("home before sign-in:\n%s", page)
	}
	adele.signIn(t, web.url, webAdele)
	ben.signIn(t, web.url, webBen)
	for _, tc := range []struct {
		b        *browser
		name, id string
	}{{adele, "Adele Vance", webAdele}, {ben, "Ben Walters", webBen}} {
		if page := tc.b.get(t, web.url+"/"); !strings.Contains(page, `<strong id="user">`+tc.name+`</strong>`) {
			t.Errorf("home of %s:\n%s", tc.name, page)
		}
		page := tc.b.get(t, web.url+"/me")
		if !strings.Contains(page, "The API answered 200") || !strings.Contains(page, tc.id) || !strings.Contains(page, "Orders.Read") {
			t.Errorf("%s's call of the API:\n%s", tc.name, page)
		}
		other := webBen
		if tc.id == webBen {
			other = webAdele
		}
		if strings.Contains(page, other) {
			t.Errorf("%s's call of the API carries the other user's token:\n%s", tc.name, page)
		}
	}

	// A sign-in started in one browser cannot be finished in another: the
	// code posted back is only redeemed with the login cookie of the
	// browser that started it.
	form, action := adele.startSignIn(t, web.url, webAdele)
	mallory := newBrowser(t, ts)
	if code, page := mallory.post(t, action, form); code != http.StatusBadRequest || !strings.Contains(page, "not started in this browser") {
		t.Errorf("another browser finishing the sign-in: %d\n%s", code, page)
	}
	// Nor twice: the sign-in is spent.
	if code, page := adele.post(t, action, form); code != http.StatusBadRequest {
		t.Errorf("the spent sign-in posted again: %d\n%s", code, page)
	}

	// Sign-out ends the session here and at the emulator, and comes back.
	code, page := adele.post(t, web.url+"/logout", url.Values{})
	if code != http.StatusOK || !strings.Contains(page, "You are not signed in.") {
		t.Errorf("after sign-out: %d\n%s", code, page)
	}
	adele.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := adele.client.Get(web.url + "/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login" {
		t.Errorf("/me after sign-out: %d to %q, want 302 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Ben is still signed in.
	if page := ben.get(t, web.url+"/me"); !strings.Contains(page, webBen) {
		t.Errorf("Ben after Adele's sign-out:\n%s", page)
	}
}

// browser is an HTTP client with its own cookies that trusts the emulator.
type browser struct{ client *http.Client }

func newBrowser(t *testing.T, ts *httptest.Server) *browser {
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return newBrowserTrusting(t, pool)
}

// newBrowserTrusting is a browser that trusts the certificates of pool.
func newBrowserTrusting(t *testing.T, pool *x509.CertPool) *browser {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{client: &http.Client{Transport: tr, Jar: jar, Timeout: time.Minute}}
}

func (b *browser) do(t *testing.T, req *http.Request) (int, string, *url.URL) {
	t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Request.URL
}

func (b *browser) get(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	code, page, _ := b.do(t, req)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, code, page)
	}
	return page
}

func (b *browser) post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, page, _ := b.do(t, req)
	return code, page
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
)

func hiddenFields(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		v.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// startSignIn follows the web app's /login to the emulator's sign-in page,
// picks the user and accepts (or, when the browser is already signed in at
// the emulator, gets its answer at once): it returns the form the
// emulator's answer page posts (form_post) and where to.
func (b *browser) startSignIn(t *testing.T, webURL, userID string) (url.Values, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, webURL+"/login", nil)
	code, page, at := b.do(t, req)
	if q := at.Query(); code != http.StatusOK || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("response_mode") != "form_post" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("the web app's authorization request: %d at %s\n%s", code, at, page)
	}
	if strings.Contains(page, `name="emulator_ticket"`) {
		form := hiddenFields(page)
		form.Set("emulator_user", userID)
		form.Set("emulator_action", "accept")
		code, page = b.post(t, at.String(), form)
	}
	m := formAction.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("the emulator's answer: %d\n%s", code, page)
	}
	return hiddenFields(page), html.UnescapeString(m[1])
}

// signIn signs the user in through the web app.
func (b *browser) signIn(t *testing.T, webURL, userID string) {
	t.Helper()
	form, action := b.startSignIn(t, webURL, userID)
	if !strings.HasPrefix(action, webURL+"/auth/callback") || form.Get("code") == "" {
		t.Fatalf("form_post to %s: %v", action, form)
	}
	if code, page := b.post(t, action, form); code != http.StatusOK || !strings.Contains(page, `id="user"`) {
		t.Fatalf("after the callback: %d\n%s", code, page)
	}
}

// The lines of demo mode's banner that TestWebAppAgainstMakeRun reads.
var (
	webAppRunLine = regexp.MustCompile(`^env ((?:[A-Z_]+=\S+ )+)go run \./examples/webapp$`)
	demoUserLine  = regexp.MustCompile(`^user +(.+?)  (\S+@\S+)  object ID (\S+)$`)
)

// TestWebAppAgainstMakeRun runs make run's program (the Gin example in
// demo mode, whose emulator has a sign-in page), then examples/webapp with
// the settings the demo prints for it, and signs each of the demo's users
// in through the emulator's sign-in page: the web app must show the API's
// /api/me answer for that user, and only that user.
func TestWebAppAgainstMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example programs; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("stops the programs with SIGTERM")
	}
	bins := buildExamples(t, "gin", "webapp")

	api := startProgram(t, bins["gin"], map[string]string{"ADDR": "127.0.0.1:0"})
	deadline := time.Now().Add(startTimeout)
	for !strings.Contains(api.stdout.String(), "Press Ctrl+C to stop.") {
		wait(t, api, deadline, "to print the demo")
	}
	var env map[string]string
	type user struct{ name, upn, oid string }
	var users []user
	for _, line := range strings.Split(api.stdout.String(), "\n") {
		if m := webAppRunLine.FindStringSubmatch(line); m != nil {
			env = map[string]string{}
			for _, kv := range strings.Fields(m[1]) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
		if m := demoUserLine.FindStringSubmatch(line); m != nil {
			users = append(users, user{m[1], m[2], m[3]})
		}
	}
	if env == nil || len(users) < 2 {
		t.Fatalf("demo mode prints no command for examples/webapp, or fewer than two users:\n%s", api.stdout.String())
	}
	if env["API_URL"] != api.url {
		t.Errorf("examples/webapp is told to call %s, not the API at %s", env["API_URL"], api.url)
	}
	if env["ADDR"] != "127.0.0.1:8082" {
		t.Errorf("examples/webapp is told to listen on %q, not the 127.0.0.1:8082 the demo tells to open", env["ADDR"])
	}
	env["ADDR"] = "127.0.0.1:0" // any port: the redirect URI is a loopback one
	caPEM, err := os.ReadFile(env["EMULATOR_CA_FILE"])
	if err != nil {
		t.Fatalf("the emulator's certificate (EMULATOR_CA_FILE): %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no PEM certificate", env["EMULATOR_CA_FILE"])
	}
	web := startProgram(t, bins["webapp"], env)

	for i, u := range users {
		b := newBrowserTrusting(t, pool)
		b.signIn(t, web.url, u.oid)
		if page := b.get(t, web.url+"/"); !strings.Contains(page, `<strong id="user">`+html.EscapeString(u.name)+`</strong>`) ||
			!strings.Contains(page, u.upn) {
			t.Errorf("home of %s:\n%s", u.name, page)
		}
		page := b.get(t, web.url+"/me")
		if !strings.Contains(page, "The API answered 200") || !strings.Contains(page, u.oid) || !strings.Contains(page, "Orders.Read") {
			t.Errorf("%s's call of the API:\n%s\nweb app's log:\n%s", u.name, page, web.stderr.String())
		}
		other := users[(i+1)%len(users)]
		if strings.Contains(page, other.oid) {
			t.Errorf("%s's call of the API carries %s's token:\n%s", u.name, other.name, page)
		}
	}
}
