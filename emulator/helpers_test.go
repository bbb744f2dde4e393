package emulator_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/emulator"
)

const (
	apiID    = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	webID    = "11111111-1111-4111-8111-111111111111"
	cliID    = "22222222-2222-4222-8222-222222222222"
	spaID    = "33333333-3333-4333-8333-333333333333"
	webCB    = "https://web.example/signin-oidc"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"
)

// fakeClock is a clock tests move.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func baseConfig() emulator.Config {
	return emulator.Config{
		TenantID:  tenantID,
		ClientID:  apiID,
		APIScopes: []string{"Orders.Read", "Orders.Write"},
		Users: []emulator.User{
			{ObjectID: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", Name: "Adele Vance", UPN: "adele@contoso.example", Email: "adele@contoso.example",
				Groups: []string{"g1"}, Roles: map[string][]string{apiID: {"Admin"}, webID: {"Web.User"}}},
			{ObjectID: "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", Name: "Bob Kelly", UPN: "bob@contoso.example"},
		},
		Apps: []emulator.App{
			{ClientID: webID, Name: "Orders web", RedirectURIs: []string{webCB}, Secret: "web-secret", Scopes: []string{"Orders.Read"}},
			{ClientID: cliID, Name: "Orders CLI", Type: emulator.AppPublic, RedirectURIs: []string{"http://localhost"}},
			{ClientID: spaID, Name: "Orders SPA", Type: emulator.AppSPA, RedirectURIs: []string{"http://localhost:3000/"}},
		},
		DeviceCodeInterval: 1,
	}
}

// emu is an emulator served by httptest.
type emu struct {
	*emulator.Emulator
	ts    *httptest.Server
	clock *fakeClock
}

func start(t *testing.T, cfg emulator.Config) *emu {
	t.Helper()
	clock := &fakeClock{now: time.Now()}
	e, err := emulator.New(cfg, emulator.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e)
	e.SetURL(ts.URL)
	t.Cleanup(func() { ts.Close(); e.Close() })
	return &emu{Emulator: e, ts: ts, clock: clock}
}

// browser is a client that keeps cookies and does not follow redirects.
func (m *emu) browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (m *emu) authorizeURL(clientID, redirect string, extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"openid profile email offline_access api://" + apiID + "/Orders.Read"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			delete(q, k)
		}
	}
	return m.ts.URL + "/" + tenantID + "/oauth2/v2.0/authorize?" + q.Encode()
}

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

type answer struct {
	Status       int
	Header       http.Header
	Raw          string
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ClientInfo   string `json:"client_info"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
	ErrorCodes   []int  `json:"error_codes"`
	UserCode     string `json:"user_code"`
	DeviceCode   string `json:"device_code"`
	Interval     int    `json:"interval"`
	VerifyURI    string `json:"verification_uri"`
}

func post(t *testing.T, c *http.Client, u string, form url.Values, edit func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	_ = json.Unmarshal(b, &a)
	return a
}

func (a answer) code() int {
	if len(a.ErrorCodes) == 0 {
		return 0
	}
	return a.ErrorCodes[0]
}

// validator accepts the emulator's tokens for audience clientID.
func (m *emu) validate(t *testing.T, clientID, tok string) *entra.Claims {
	t.Helper()
	v, err := entra.NewValidator(entra.Config{TenantID: tenantID, ClientID: clientID, AuthorityHost: m.ts.URL + "/", HTTPClient: m.ts.Client(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("entraguard refuses the token: %v", err)
	}
	return c
}

// payload decodes a JWT's claims without verifying it.
func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
