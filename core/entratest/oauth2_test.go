package entratest_test

import (
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

const (
	testAppID  = "6731de76-14a6-49ae-97bc-6eba6914391e"
	testSecret = "s3cr3t.value_for-tests"
)

// tokenAnswer is the token endpoint's answer, success or error.
type tokenAnswer struct {
	status int
	header http.Header
	raw    []byte

	TokenType     string `json:"token_type"`
	ExpiresIn     int    `json:"expires_in"`
	ExtExpiresIn  int    `json:"ext_expires_in"`
	AccessToken   string `json:"access_token"`
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
}

// postToken posts form to the token endpoint at u and decodes the answer.
func postToken(t *testing.T, srv *entratest.Server, u string, form url.Values, edit func(*http.Request)) tokenAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := tokenAnswer{status: resp.StatusCode, header: resp.Header, raw: body}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	return a
}

// newAppServer starts a server with one app registered with a secret and a
// certificate.
func newAppServer(t *testing.T) (*entratest.Server, *x509.Certificate, crypto.Signer) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	cert, key := entratest.NewClientCertificate(testAppID)
	srv.RegisterApp(entratest.App{ClientID: testAppID, Secret: testSecret, Certificate: cert, Roles: []string{"Orders.Read.All", "Admin"}})
	return srv, cert, key
}

func secretForm(srv *entratest.Server) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {testAppID},
		"client_secret": {testSecret},
		"scope":         {"api://" + srv.ClientID + "/.default"},
	}
}

func assertionForm(srv *entratest.Server, assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {testAppID},
		"client_assertion_type": {entratest.ClientAssertionType},
		"client_assertion":      {assertion},
		"scope":                 {srv.ClientID + "/.default"},
	}
}

// signAssertion signs header and claims (RS256) with key, for assertions
// that ClientAssertion does not make.
func signAssertion(t *testing.T, key crypto.Signer, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func x5t(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// assertionClaims are valid claims of an assertion of testAppID for srv.
func assertionClaims(srv *entratest.Server) map[string]any {
	now := time.Now()
	return map[string]any{
		"aud": srv.TokenURL(),
		"iss": testAppID,
		"sub": testAppID,
		"jti": "0b7a5f1c-55b8-4a43-9f35-3c1b1b0f8f10",
		"nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
}

// validate validates an issued token for the server's API.
func validate(t *testing.T, srv *entratest.Server, token string) *entra.Claims {
	t.Helper()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Validate(t.Context(), token)
	if err != nil {
		t.Fatalf("the issued token does not validate: %v", err)
	}
	return c
}

func TestTokenEndpointIssues(t *testing.T) {
	srv, cert, key := newAppServer(t)
	tests := []struct {
		name string
		form url.Values
		edit func(*http.Request)
	}{
		{name: "client secret", form: secretForm(srv)},
		{name: "client secret, scope without api://", form: func() url.Values {
			f := secretForm(srv)
			f.Set("scope", srv.ClientID+"/.default")
			return f
		}()},
		{name: "client secret in a Basic header", form: func() url.Values {
			f := secretForm(srv)
			f.Del("client_secret")
			f.Del("client_id")
			return f
		}(), edit: func(r *http.Request) { r.SetBasicAuth(testAppID, url.QueryEscape(testSecret)) }},
		{name: "client assertion", form: assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, key))},
		{name: "client assertion with x5t#S256 and PS256", form: func() url.Values {
			sum := sha256.Sum256(cert.Raw)
			h := map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
			c := assertionClaims(srv)
			b1, _ := json.Marshal(h)
			b2, _ := json.Marshal(c)
			input := base64.RawURLEncoding.EncodeToString(b1) + "." + base64.RawURLEncoding.EncodeToString(b2)
			digest := sha256.Sum256([]byte(input))
			sig, err := rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, digest[:], nil)
			if err != nil {
				t.Fatal(err)
			}
			return assertionForm(srv, input+"."+base64.RawURLEncoding.EncodeToString(sig))
		}()},
		{name: "client assertion with the client ID in upper case", form: func() url.Values {
			f := assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), strings.ToUpper(testAppID), cert, key))
			f.Set("client_id", strings.ToUpper(testAppID))
			return f
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := postToken(t, srv, srv.TokenURL(), tc.form, tc.edit)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			if a.TokenType != "Bearer" || a.ExpiresIn != 3599 || a.ExtExpiresIn != 3599 || a.AccessToken == "" {
				t.Errorf("answer %s", a.raw)
			}
			if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			c := validate(t, srv, a.AccessToken)
			if !c.IsApp() || !strings.EqualFold(c.AppID(), testAppID) || c.Version() != entra.Version2 || c.TenantID() != srv.TenantID {
				t.Errorf("claims: app %v, app id %q, version %q, tid %q", c.IsApp(), c.AppID(), c.Version(), c.TenantID())
			}
			if !slices.Equal(c.Roles(), []string{"Orders.Read.All", "Admin"}) || len(c.Scopes()) != 0 {
				t.Errorf("roles %q, scopes %q", c.Roles(), c.Scopes())
			}
			if c.ObjectID() == "" || c.ObjectID() == srv.CallerObjectID || c.Subject() != c.ObjectID() {
				t.Errorf("oid %q, sub %q: want the app's own service principal", c.ObjectID(), c.Subject())
			}
			if life := time.Until(c.ExpiresAt()); life < 59*time.Minute || life > 61*time.Minute {
				t.Errorf("token expires in %v, want about an hour", life)
			}
		})
	}
}

func TestTokenEndpointAssertionReusedUntilExp(t *testing.T) {
	// Entra ID accepts an assertion until its exp (plus skew): MSAL Node,
	// MSAL Python and MSAL Java before 1.23 send the same one for up to ten
	// minutes, for a second scope or a second user's on-behalf-of.
	now := time.Now()
	srv := entratest.NewServer(entratest.WithClock(func() time.Time { return now }))
	t.Cleanup(srv.Close)
	cert, key := entratest.NewClientCertificate(testAppID)
	srv.RegisterApp(entratest.App{ClientID: testAppID, Certificate: cert, Roles: []string{"Orders.Read.All"}})
	form := assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, key))
	for i := range 3 {
		if a := postToken(t, srv, srv.TokenURL(), form, nil); a.status != http.StatusOK {
			t.Fatalf("use %d: status %d: %s", i+1, a.status, a.raw)
		}
	}
	// Nine minutes later it is still good; after exp plus the skew it is not.
	now = now.Add(9 * time.Minute)
	if a := postToken(t, srv, srv.TokenURL(), form, nil); a.status != http.StatusOK {
		t.Fatalf("after 9 minutes: status %d: %s", a.status, a.raw)
	}
	now = now.Add(7 * time.Minute) // 16 minutes: exp (10) + skew (5) passed
	a := postToken(t, srv, srv.TokenURL(), form, nil)
	if a.status != http.StatusUnauthorized || !slices.Equal(a.ErrorCodes, []int{700024}) {
		t.Fatalf("after exp + skew: got %d %v, want 401 [700024]: %s", a.status, a.ErrorCodes, a.raw)
	}
}

func TestTokenEndpointAssertionReplayOptIn(t *testing.T) {
	// An app with RefuseAssertionReplay accepts an assertion once: a test
	// of a client that must make a new assertion (a new jti) per request.
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	cert, key := entratest.NewClientCertificate(testAppID)
	srv.RegisterApp(entratest.App{ClientID: testAppID, Certificate: cert, RefuseAssertionReplay: true})
	form := assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, key))
	if a := postToken(t, srv, srv.TokenURL(), form, nil); a.status != http.StatusOK {
		t.Fatalf("first use: status %d: %s", a.status, a.raw)
	}
	a := postToken(t, srv, srv.TokenURL(), form, nil)
	if a.status != http.StatusUnauthorized || a.Error != "invalid_client" || !slices.Equal(a.ErrorCodes, []int{50027}) || !strings.Contains(a.Description, "already used") {
		t.Fatalf("replay: got %d %s %v, want 401 invalid_client [50027] already used: %s", a.status, a.Error, a.ErrorCodes, a.raw)
	}
	// Another assertion of the same app is fine.
	form = assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, key))
	if a := postToken(t, srv, srv.TokenURL(), form, nil); a.status != http.StatusOK {
		t.Fatalf("new assertion: status %d: %s", a.status, a.raw)
	}
}

func TestTokenEndpointIgnoresOpenIDScopes(t *testing.T) {
	// MSAL adds openid, offline_access and profile to every request; in
	// the client credentials grant Entra ID ignores them.
	srv, _, _ := newAppServer(t)
	form := secretForm(srv)
	form.Set("scope", "api://"+srv.ClientID+"/.default openid offline_access profile")
	if a := postToken(t, srv, srv.TokenURL(), form, nil); a.status != http.StatusOK || a.AccessToken == "" {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
}

func TestTokenEndpointRefuses(t *testing.T) {
	srv, cert, key := newAppServer(t)
	otherCert, otherKey := entratest.NewClientCertificate(testAppID)
	secretOnly := "0f3c2d55-3a0f-4b7e-9f6e-1f4a6f1d2c11"
	srv.RegisterApp(entratest.App{ClientID: secretOnly, Secret: "other-secret"})
	certOnly := "4e8b1c1d-2f7a-4a5e-8c39-7c0f3b1e9a22"
	srv.RegisterApp(entratest.App{ClientID: certOnly, Certificate: cert})

	with := func(f url.Values, kv ...string) url.Values {
		f = url.Values(f)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	claimsWith := func(kv ...any) map[string]any {
		c := assertionClaims(srv)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	header := map[string]any{"alg": "RS256", "typ": "JWT", "x5t": x5t(cert)}
	valid := entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, key)
	hour := time.Hour

	tests := []struct {
		name   string
		method string
		url    string
		form   url.Values
		edit   func(*http.Request)
		status int
		error  string
		code   int
	}{
		{name: "GET", method: "GET", form: secretForm(srv), status: 400, error: "invalid_request", code: 900561},
		{name: "no body", form: url.Values{}, status: 400, error: "invalid_request", code: 900144},
		{name: "JSON body", form: secretForm(srv), edit: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, status: 400, error: "invalid_request", code: 900144},
		{name: "parameters in the query string", url: srv.TokenURL() + "?" + secretForm(srv).Encode(), form: url.Values{}, status: 400, error: "invalid_request", code: 900144},
		{name: "password grant", form: with(secretForm(srv), "grant_type", "password"), status: 400, error: "unsupported_grant_type", code: 70003},
		{name: "no client_id", form: with(secretForm(srv), "client_id", "-"), status: 400, error: "invalid_request", code: 900144},
		{name: "no scope", form: with(secretForm(srv), "scope", "-"), status: 400, error: "invalid_request", code: 900144},
		{name: "unknown client", form: with(secretForm(srv), "client_id", "11111111-2222-3333-4444-555555555555"), status: 400, error: "unauthorized_client", code: 700016},
		{name: "another tenant", url: srv.URL + "/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token", form: secretForm(srv), status: 400, error: "unauthorized_client", code: 700016},
		{name: "organizations", url: srv.URL + "/organizations/oauth2/v2.0/token", form: secretForm(srv), status: 400, error: "invalid_request", code: 9002313},
		{name: "not a tenant", url: srv.URL + "/contoso.example/oauth2/v2.0/token", form: secretForm(srv), status: 400, error: "invalid_request", code: 90002},
		{name: "no credential", form: with(secretForm(srv), "client_secret", "-"), status: 401, error: "invalid_client", code: 7000216},
		{name: "wrong secret", form: with(secretForm(srv), "client_secret", "guess"), status: 401, error: "invalid_client", code: 7000215},
		{name: "empty secret", form: with(secretForm(srv), "client_secret", ""), status: 401, error: "invalid_client", code: 7000215},
		{name: "secret of another app", form: with(secretForm(srv), "client_secret", "other-secret"), status: 401, error: "invalid_client", code: 7000215},
		{name: "secret for an app without one", form: with(secretForm(srv), "client_id", certOnly, "client_secret", "anything"), status: 401, error: "invalid_client", code: 7000215},
		{name: "wrong secret in a Basic header", form: with(secretForm(srv), "client_secret", "-"), edit: func(r *http.Request) { r.SetBasicAuth(testAppID, "guess") }, status: 401, error: "invalid_client", code: 7000215},
		{name: "secret twice", form: secretForm(srv), edit: func(r *http.Request) { r.SetBasicAuth(testAppID, testSecret) }, status: 400, error: "invalid_request", code: 9002313},
		{name: "secret and assertion", form: with(assertionForm(srv, valid), "client_secret", testSecret), status: 400, error: "invalid_request", code: 9002313},
		{name: "scope of another API", form: with(secretForm(srv), "scope", "api://another-api/.default"), status: 400, error: "invalid_resource", code: 500011},
		{name: "Microsoft Graph", form: with(secretForm(srv), "scope", "https://graph.microsoft.com/.default"), status: 400, error: "invalid_resource", code: 500011},
		{name: "delegated scope", form: with(secretForm(srv), "scope", "api://"+srv.ClientID+"/Orders.Read"), status: 400, error: "invalid_scope", code: 1002012},
		{name: "two scopes", form: with(secretForm(srv), "scope", "api://"+srv.ClientID+"/.default https://graph.microsoft.com/.default"), status: 400, error: "invalid_scope", code: 70011},
		{name: "OpenID scopes only", form: with(secretForm(srv), "scope", "openid offline_access profile"), status: 400, error: "invalid_scope", code: 70011},
		{name: "assertion without its type", form: with(assertionForm(srv, valid), "client_assertion_type", "-"), status: 400, error: "invalid_request", code: 900144},
		{name: "assertion of another type", form: with(assertionForm(srv, valid), "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), status: 400, error: "invalid_request", code: 9002313},
		{name: "assertion for an app without a certificate", form: with(assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), secretOnly, cert, key)), "client_id", secretOnly), status: 401, error: "invalid_client", code: 700027},
		{name: "assertion: not a JWT", form: assertionForm(srv, "not-a-jwt"), status: 401, error: "invalid_client", code: 50027},
		{name: "assertion: wrong audience", form: assertionForm(srv, entratest.ClientAssertion("https://login.microsoftonline.com/"+srv.TenantID+"/oauth2/v2.0/token", testAppID, cert, key)), status: 401, error: "invalid_client", code: 700023},
		{name: "assertion: the issuer as audience", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("aud", srv.Issuer("", "")))), status: 401, error: "invalid_client", code: 700023},
		{name: "assertion: no audience", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("aud", nil))), status: 401, error: "invalid_client", code: 700023},
		{name: "assertion: expired", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("nbf", time.Now().Add(-2*hour).Unix(), "exp", time.Now().Add(-hour).Unix()))), status: 401, error: "invalid_client", code: 700024},
		{name: "assertion: not yet valid", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("nbf", time.Now().Add(hour).Unix(), "exp", time.Now().Add(2*hour).Unix()))), status: 401, error: "invalid_client", code: 700024},
		{name: "assertion: no exp", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("exp", nil))), status: 401, error: "invalid_client", code: 700024},
		{name: "assertion: no jti", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("jti", nil))), status: 401, error: "invalid_client", code: 50027},
		{name: "assertion: issuer is another app", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("iss", secretOnly))), status: 401, error: "invalid_client", code: 700021},
		{name: "assertion: subject is another app", form: assertionForm(srv, signAssertion(t, key, header, claimsWith("sub", secretOnly))), status: 401, error: "invalid_client", code: 700021},
		{name: "assertion: unregistered certificate (wrong x5t)", form: assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, otherCert, otherKey)), status: 401, error: "invalid_client", code: 700027},
		{name: "assertion: no x5t", form: assertionForm(srv, signAssertion(t, key, map[string]any{"alg": "RS256", "typ": "JWT"}, assertionClaims(srv))), status: 401, error: "invalid_client", code: 50027},
		{name: "assertion: bad signature (signed by another key)", form: assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, otherKey)), status: 401, error: "invalid_client", code: 700027},
		{name: "assertion: tampered payload", form: assertionForm(srv, func() string {
			parts := strings.Split(valid, ".")
			c := assertionClaims(srv)
			c["jti"] = "tampered"
			b, _ := json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		}()), status: 401, error: "invalid_client", code: 700027},
		{name: "assertion: alg none", form: assertionForm(srv, func() string {
			parts := strings.Split(signAssertion(t, key, map[string]any{"alg": "none", "x5t": x5t(cert)}, assertionClaims(srv)), ".")
			return parts[0] + "." + parts[1] + "."
		}()), status: 401, error: "invalid_client", code: 50027},
		{name: "assertion: HS256", form: assertionForm(srv, signAssertion(t, key, map[string]any{"alg": "HS256", "x5t": x5t(cert)}, assertionClaims(srv))), status: 401, error: "invalid_client", code: 50027},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := cmp.Or(tc.url, srv.TokenURL())
			var a tokenAnswer
			if tc.method == "GET" {
				a = getToken(t, srv, u+"?"+tc.form.Encode())
			} else {
				a = postToken(t, srv, u, tc.form, tc.edit)
			}
			if a.status != tc.status || a.Error != tc.error || !slices.Equal(a.ErrorCodes, []int{tc.code}) {
				t.Fatalf("got %d %s %v, want %d %s [%d]: %s", a.status, a.Error, a.ErrorCodes, tc.status, tc.error, tc.code, a.raw)
			}
			checkErrorShape(t, srv, a)
		})
	}
}

func getToken(t *testing.T, srv *entratest.Server, u string) tokenAnswer {
	t.Helper()
	code, h, body := get(t, srv, u)
	a := tokenAnswer{status: code, header: h, raw: body}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	return a
}

// checkErrorShape checks an error answer is shaped as Entra ID's and
// leaks no credential.
func checkErrorShape(t *testing.T, srv *entratest.Server, a tokenAnswer) {
	t.Helper()
	if a.AccessToken != "" {
		t.Errorf("an error answer carries an access token")
	}
	if !strings.HasPrefix(a.Description, "AADSTS"+strconv.Itoa(a.ErrorCodes[0])+": ") || !strings.Contains(a.Description, "\r\nTrace ID: "+a.TraceID) {
		t.Errorf("error_description %q", a.Description)
	}
	if _, err := time.Parse("2006-01-02 15:04:05Z", a.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", a.Timestamp, err)
	}
	if len(a.TraceID) != 36 || len(a.CorrelationID) != 36 {
		t.Errorf("trace_id %q, correlation_id %q", a.TraceID, a.CorrelationID)
	}
	if a.ErrorURI != srv.URL+"/error?code="+strconv.Itoa(a.ErrorCodes[0]) {
		t.Errorf("error_uri %q", a.ErrorURI)
	}
	if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q", cc)
	}
	for _, secret := range []string{testSecret, "other-secret", "guess"} {
		if strings.Contains(string(a.raw), secret) {
			t.Errorf("the answer echoes a secret: %s", a.raw)
		}
	}
}

func TestTokenEndpointCorrelationID(t *testing.T) {
	srv, _, _ := newAppServer(t)
	const id = "0c3f4a51-8a46-4ac4-a1ab-6f1b6ad0c1e2"
	a := postToken(t, srv, srv.TokenURL(), url.Values{}, func(r *http.Request) { r.Header.Set("client-request-id", id) })
	if a.CorrelationID != id {
		t.Errorf("correlation_id %q, want the client-request-id %q", a.CorrelationID, id)
	}
}

func TestTokenEndpointV1NotServed(t *testing.T) {
	srv, _, _ := newAppServer(t)
	a := postToken(t, srv, srv.URL+"/"+srv.TenantID+"/oauth2/token", secretForm(srv), nil)
	if a.status != http.StatusNotFound || a.Error != "not_found" {
		t.Errorf("v1.0 token endpoint: %d %s", a.status, a.raw)
	}
}

func TestTokenEndpointFaultsAndCounts(t *testing.T) {
	srv, _, _ := newAppServer(t)
	srv.SetFault(entratest.EndpointToken, entratest.Times(1, entratest.Status(http.StatusServiceUnavailable)))
	if a := postToken(t, srv, srv.TokenURL(), secretForm(srv), nil); a.status != http.StatusServiceUnavailable {
		t.Errorf("faulted: status %d", a.status)
	}
	if a := postToken(t, srv, srv.TokenURL(), secretForm(srv), nil); a.status != http.StatusOK {
		t.Errorf("after the fault: status %d: %s", a.status, a.raw)
	}
	if n := srv.Fetches(entratest.EndpointToken); n != 2 {
		t.Errorf("Fetches(EndpointToken) = %d, want 2", n)
	}
}

func TestTokenEndpointTokenWithoutRoles(t *testing.T) {
	// An app granted no role gets a token without roles, which an API
	// refuses by default, as with Entra ID.
	srv := entratest.NewServer()
	defer srv.Close()
	srv.RegisterApp(entratest.App{ClientID: testAppID, Secret: testSecret})
	a := postToken(t, srv, srv.TokenURL(), secretForm(srv), nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	if c := validate(t, srv, a.AccessToken); len(c.Roles()) != 0 {
		t.Errorf("roles %q", c.Roles())
	}
}

func TestRegisterAppReplaces(t *testing.T) {
	srv, _, _ := newAppServer(t)
	srv.RegisterApp(entratest.App{ClientID: strings.ToUpper(testAppID), Secret: "rotated", Roles: []string{"Orders.Read.All"}})
	if a := postToken(t, srv, srv.TokenURL(), secretForm(srv), nil); a.status != http.StatusUnauthorized {
		t.Errorf("old secret after re-registration: %d", a.status)
	}
	f := secretForm(srv)
	f.Set("client_secret", "rotated")
	a := postToken(t, srv, srv.TokenURL(), f, nil)
	if a.status != http.StatusOK {
		t.Fatalf("new secret: %d %s", a.status, a.raw)
	}
	if c := validate(t, srv, a.AccessToken); !slices.Equal(c.Roles(), []string{"Orders.Read.All"}) {
		t.Errorf("roles %q", c.Roles())
	}
}

func TestRegisterAppPanics(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	ecCert := func() *x509.Certificate {
		c, _ := entratest.NewClientCertificate("x")
		c2 := *c
		c2.PublicKey = "not an RSA key"
		return &c2
	}()
	tests := []struct {
		name string
		app  entratest.App
	}{
		{"no client ID", entratest.App{Secret: "s"}},
		{"client ID with a space", entratest.App{ClientID: "a b", Secret: "s"}},
		{"no credential", entratest.App{ClientID: testAppID, Roles: []string{"Admin"}}},
		{"certificate without an RSA key", entratest.App{ClientID: testAppID, Certificate: ecCert}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, "entratest: RegisterApp") {
					t.Errorf("panic %v, want an entratest: RegisterApp panic", r)
				}
			}()
			srv.RegisterApp(tc.app)
		})
	}
}

func TestClientAssertionShape(t *testing.T) {
	cert, key := entratest.NewClientCertificate(testAppID)
	if cert.Subject.CommonName != testAppID {
		t.Errorf("certificate CN %q", cert.Subject.CommonName)
	}
	a := entratest.ClientAssertion("https://login.example/t/oauth2/v2.0/token", testAppID, cert, key)
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var h, c map[string]any
	for i, v := range []*map[string]any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if h["alg"] != "RS256" || h["x5t"] != x5t(cert) {
		t.Errorf("header %v", h)
	}
	if c["aud"] != "https://login.example/t/oauth2/v2.0/token" || c["iss"] != testAppID || c["sub"] != testAppID || c["jti"] == "" {
		t.Errorf("claims %v", c)
	}
	if life := c["exp"].(float64) - c["nbf"].(float64); life != 600 {
		t.Errorf("lifetime %vs, want 600", life)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature: %v", err)
	}
	if b := entratest.ClientAssertion("u", "id", cert, key); b == a {
		t.Errorf("two assertions are equal: jti must differ")
	}

	defer func() {
		if r := recover(); r == nil {
			t.Errorf("ClientAssertion with a nil certificate did not panic")
		}
	}()
	_ = entratest.ClientAssertion("u", "id", nil, key)
}

func TestTokenEndpointRequestTooLarge(t *testing.T) {
	srv, _, _ := newAppServer(t)
	f := secretForm(srv)
	f.Set("padding", strings.Repeat("x", 100<<10))
	a := postToken(t, srv, srv.TokenURL(), f, nil)
	if a.status != http.StatusBadRequest || a.Error != "invalid_request" {
		t.Errorf("oversized request: %d %s", a.status, a.raw)
	}
}

func TestAuthenticateClient(t *testing.T) {
	// A server built on entratest checks a client's credentials as the
	// token endpoint does, for grants of its own, and answers its refusals
	// in Entra ID's shape.
	srv, cert, key := newAppServer(t)
	check := func(form url.Values) (string, string, error) {
		r := httptest.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
		return srv.AuthenticateClient(r, form, srv.TenantID)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {strings.ToUpper(testAppID)}, "client_secret": {testSecret}}
	if id, acr, err := check(form); err != nil || id != testAppID || acr != "1" {
		t.Fatalf("secret: %q %q %v", id, acr, err)
	}
	form = assertionForm(srv, entratest.ClientAssertion(srv.TokenURL(), testAppID, cert, key))
	form.Del("scope")
	if id, acr, err := check(form); err != nil || id != testAppID || acr != "2" {
		t.Fatalf("assertion: %q %q %v", id, acr, err)
	}
	form = url.Values{"client_id": {testAppID}, "client_secret": {"wrong"}}
	_, _, err := check(form)
	var te *entratest.TokenError
	if !errors.As(err, &te) || te.Status != 401 || te.OAuthError != "invalid_client" || te.AADSTS != 7000215 {
		t.Fatalf("wrong secret: %v", err)
	}
	rec := httptest.NewRecorder()
	srv.WriteTokenError(rec, httptest.NewRequest(http.MethodPost, srv.TokenURL(), nil), te)
	var body tokenAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 401 || body.Error != "invalid_client" ||
		!slices.Equal(body.ErrorCodes, []int{7000215}) || !strings.HasPrefix(body.Description, "AADSTS7000215: ") || strings.Contains(rec.Body.String(), "wrong") {
		t.Fatalf("written: %d %s", rec.Code, rec.Body)
	}
}
