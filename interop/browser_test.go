package interop_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/emulator"
)

// IDs of the browser tests' apps.
const (
	spaID = "3a1c9e7b-5d2f-4b8a-9c6e-1f0d2b3a4c5d"
)

// chromium returns a browser context: Debian's chromium, headless, with a
// fresh profile, trusting only the emulator's certificate besides the
// system's roots, with JavaScript on or off. Without chromium the test is
// skipped, except in CI (CI set), where it fails.
func chromium(t *testing.T, emulatorCert *x509.Certificate, javaScript bool) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not on PATH: CI installs Debian's chromium (.ci/run)")
		}
		t.Skip("chromium is not on PATH (install Debian's chromium)")
	}
	spki := sha256.Sum256(emulatorCert.RawSubjectPublicKeyInfo)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	}
	// A generous bound for a loaded machine: a failure, never a measure.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancelBrowser()
	})
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !javaScript}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// browserEntra is an emulator on TLS for the browser tests, with a SPA and
// a web app.
func browserEntra(t *testing.T, nonInteractive bool, redirect string) (*emulator.Emulator, *httptest.Server, string) {
	t.Helper()
	api := newID()
	e, ts := serveEmulator(t, emulator.Config{
		TenantID:       emuTenant,
		ClientID:       api,
		APIScopes:      []string{"Orders.Read"},
		NonInteractive: nonInteractive,
		Users: []emulator.User{
			{ObjectID: emuAdele, Name: "Adele Vance", UPN: "adele@contoso.example"},
			{ObjectID: nodeBen, Name: "Ben Walters", UPN: "ben@contoso.example"},
		},
		Apps: []emulator.App{
			{ClientID: spaID, Name: "Orders SPA", Type: emulator.AppSPA, RedirectURIs: []string{redirect}},
			{ClientID: emuCLI, Name: "Orders CLI", Type: emulator.AppPublic, RedirectURIs: []string{redirect}},
		},
		DeviceCodeInterval: 1,
	})
	return e, ts, api
}

// TestBrowserSPA runs a single-page app with MSAL Browser (interop/node,
// pinned by its package-lock.json) in headless Chromium: loginRedirect
// against the emulator, acquireTokenSilent from the cache and with the
// refresh token (cross-origin, CORS), and a call of the API, served from
// the page's origin with entraguard's middleware. The token the API gets
// must also pass golang-jwt.
func TestBrowserSPA(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; skipped with -short")
	}
	project := nodeProject(t)
	e, ts, api := browserEntra(t, true, "http://127.0.0.1/")
	l := &localEntra{Emulator: e, ts: ts, api: api}
	v, err := entra.NewValidator(entra.Config{TenantID: emuTenant, ClientID: api, AuthorityHost: ts.URL + "/", HTTPClient: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	l.v = v

	var mu sync.Mutex
	var apiTokens []string
	me := entra.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiTokens = append(apiTokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		mu.Unlock()
		c, _ := entra.ClaimsFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"oid": c.ObjectID(), "name": c.Name(), "scp": c.Scopes()})
	}))
	spaDir := filepath.Join(project, "spa")
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", me)
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, r *http.Request) {
		cfg, _ := json.Marshal(map[string]any{"clientId": spaID, "authority": l.authority(), "scopes": []string{"api://" + api + "/Orders.Read"}, "api": ""})
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "window.SPA_CONFIG = %s;\n", cfg)
	})
	mux.HandleFunc("GET /msal-browser.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(project, "node_modules", "@azure", "msal-browser", "lib", "msal-browser.min.js"))
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, filepath.Join(spaDir, "app.js")) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(spaDir, "index.html"))
	})
	spa := httptest.NewServer(mux)
	t.Cleanup(spa.Close)

	ctx := chromium(t, ts.Certificate(), true)
	if err := chromedp.Do(ctx, chromedp.Navigate(spa.URL+"/"), chromedp.WaitReady(chromedp.CSS(`body[data-state]`))); err != nil {
		t.Fatalf("the SPA in Chromium: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-state"))
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#status`)))
	if err != nil {
		t.Fatal(err)
	}
	result, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#result`)))
	if err != nil {
		t.Fatal(err)
	}
	if state.Value != "done" {
		t.Fatalf("the SPA: %s", status)
	}
	var answer struct {
		OID  string
		Name string
		Scp  []string
	}
	if err := json.Unmarshal([]byte(result), &answer); err != nil || answer.OID != emuAdele || answer.Name != "Adele Vance" {
		t.Errorf("the API answered %q (%v); status %q", result, err, status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(apiTokens) != 1 {
		t.Fatalf("the API got %d calls, want 1", len(apiTokens))
	}
	if c := l.accepts(t, apiTokens[0]); c.ObjectID() != emuAdele || c.AppID() != spaID || !c.HasScope("Orders.Read") {
		t.Errorf("the SPA's token: user %q app %q scopes %v", c.ObjectID(), c.AppID(), c.Scopes())
	}
}

var (
	inputTag = regexp.MustCompile(`<input\b[^>]*>`)
	attrRE   = regexp.MustCompile(`\b(type|id)="([^"]*)"`)
)

// checkLabels checks that every visible input of a page has an id and a
// <label for> naming it.
func checkLabels(t *testing.T, page string) {
	t.Helper()
	seen := 0
	for _, tag := range inputTag.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
			attrs[m[1]] = m[2]
		}
		if attrs["type"] == "hidden" {
			continue
		}
		seen++
		if attrs["id"] == "" || !strings.Contains(page, `<label for="`+attrs["id"]+`">`) {
			t.Errorf("input without a label: %s", tag)
		}
	}
	if seen == 0 {
		t.Errorf("no visible input on the page:\n%s", page)
	}
}

// outerHTML returns the page's HTML, read through the DOM (it works with
// JavaScript off).
func outerHTML(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keys presses keys in the focused element, one at a time.
func keys(ks ...string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for _, k := range ks {
		steps = append(steps, chromedp.KeyEvent(k))
	}
	return chromedp.Steps(steps...)
}

// TestBrowserSignInPageKeyboardNoScript signs a user in on the emulator's
// sign-in page in Chromium with JavaScript off and the keyboard only: Tab
// to the second user, Tab to "Accept and sign in", Enter; then Tab and
// Enter on the form_post page's Continue button, which posts the code to
// the app. Every input has a label.
func TestBrowserSignInPageKeyboardNoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; skipped with -short")
	}
	posted := make(chan url.Values, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		select {
		case posted <- r.PostForm:
		default:
		}
		// The script marks the page if JavaScript runs, which it must not.
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><script>document.documentElement.dataset.js = "on"</script><p id=done>back in the app</p>`))
	}))
	t.Cleanup(app.Close)
	_, ts, api := browserEntra(t, false, "http://127.0.0.1/callback")
	authURL := ts.URL + "/" + emuTenant + "/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {emuCLI}, "response_type": {"code"}, "redirect_uri": {app.URL + "/callback"},
		"scope": {"openid api://" + api + "/Orders.Read"}, "response_mode": {"form_post"}, "state": {"kb-state"},
		"code_challenge": {pkceChallenge("keyboard-verifier-0123456789-abcdefghijklmnopqrstuvwxyz")}, "code_challenge_method": {"S256"},
	}.Encode()

	ctx := chromium(t, ts.Certificate(), false)
	if err := chromedp.Do(ctx, chromedp.Navigate(authURL), chromedp.WaitReady(chromedp.CSS(`button[value="accept"]`))); err != nil {
		t.Fatalf("the sign-in page: %v", err)
	}
	page := outerHTML(t, ctx)
	checkLabels(t, page)
	if !strings.Contains(page, "<legend>Pick an account</legend>") || !strings.Contains(page, "Orders.Read") {
		t.Errorf("the sign-in page names neither the accounts nor the permissions:\n%s", page)
	}
	// Tab reaches the checked radio (the first user); the arrow key picks
	// the second; Tab reaches Accept; Enter submits.
	if err := chromedp.Do(ctx, keys(kb.Tab, kb.ArrowDown, kb.Tab, kb.Enter), chromedp.WaitReady(chromedp.CSS(`noscript`))); err != nil {
		t.Fatalf("submitting the sign-in page: %v", err)
	}
	page = outerHTML(t, ctx)
	if !strings.Contains(page, "Script is off") || !strings.Contains(page, `action="`+app.URL+`/callback"`) {
		t.Fatalf("the form_post page without JavaScript:\n%s", page)
	}
	if err := chromedp.Do(ctx, keys(kb.Tab, kb.Enter), chromedp.WaitReady(chromedp.CSS(`#done`))); err != nil {
		t.Fatalf("continuing to the app: %v", err)
	}
	if page := outerHTML(t, ctx); strings.Contains(page, `data-js="on"`) {
		t.Fatal("JavaScript ran in the browser that should have it off")
	}
	form := <-posted
	if form.Get("code") == "" || form.Get("state") != "kb-state" {
		t.Fatalf("the app got %v", form)
	}
	// The code is Ben's: the one the arrow key picked.
	resp, err := ts.Client().PostForm(ts.URL+"/"+emuTenant+"/oauth2/v2.0/token", url.Values{
		"client_id": {emuCLI}, "grant_type": {"authorization_code"}, "code": {form.Get("code")}, "redirect_uri": {app.URL + "/callback"},
		"code_verifier": {"keyboard-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"}, "scope": {"api://" + api + "/Orders.Read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("redeeming the code: %d %v %s", resp.StatusCode, err, tok.Error)
	}
	l := &localEntra{ts: ts}
	if c := verifyJWT(t, l, tok.AccessToken, api); c["oid"] != nodeBen {
		t.Errorf("the code's user: %v, want Ben (%s)", c["oid"], nodeBen)
	}
}

// TestBrowserDevicePageKeyboardNoScript enters a device code on the
// emulator's device page in Chromium with JavaScript off and the keyboard
// only; the waiting client then gets its token.
func TestBrowserDevicePageKeyboardNoScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; skipped with -short")
	}
	_, ts, api := browserEntra(t, false, "http://127.0.0.1/callback")
	resp, err := ts.Client().PostForm(ts.URL+"/"+emuTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {emuCLI}, "scope": {"api://" + api + "/Orders.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	var dc struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
	}
	err = json.NewDecoder(resp.Body).Decode(&dc)
	resp.Body.Close()
	if err != nil || dc.UserCode == "" {
		t.Fatalf("device code: %v %+v", err, dc)
	}

	ctx := chromium(t, ts.Certificate(), false)
	if err := chromedp.Do(ctx, chromedp.Navigate(dc.VerificationURI), chromedp.WaitReady(chromedp.CSS(`#user_code`))); err != nil {
		t.Fatalf("the device page: %v", err)
	}
	checkLabels(t, outerHTML(t, ctx))
	// The code field has focus (autofocus): type the code, Enter; on the
	// consent page Tab to the checked user, Tab to Accept, Enter.
	if err := chromedp.Do(ctx, chromedp.KeyEvent(dc.UserCode), chromedp.KeyEvent(kb.Enter), chromedp.WaitReady(chromedp.CSS(`button[value="accept"]`))); err != nil {
		t.Fatalf("entering the code: %v", err)
	}
	checkLabels(t, outerHTML(t, ctx))
	if err := chromedp.Do(ctx, keys(kb.Tab, kb.Tab, kb.Enter), chromedp.WaitReady(chromedp.CSS(`p[role="status"]`))); err != nil {
		t.Fatalf("accepting: %v", err)
	}
	done, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`h1`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(done, "You signed in") {
		t.Fatalf("after accepting: %q", done)
	}
	resp, err = ts.Client().PostForm(ts.URL+"/"+emuTenant+"/oauth2/v2.0/token", url.Values{
		"client_id": {emuCLI}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc.DeviceCode},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("the device's token: %d %v %s", resp.StatusCode, err, tok.Error)
	}
	if c := verifyJWT(t, &localEntra{ts: ts}, tok.AccessToken, api); c["oid"] != emuAdele {
		t.Errorf("the device's user: %v", c["oid"])
	}
}
